"""Test material, never imported by the product: scripted discussions with their exact
truth (`synth`) and scoring against that truth (`evaluate`)."""
