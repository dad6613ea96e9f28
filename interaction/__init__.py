"""Interaction analysis: floor, turns, overlaps, interruptions, backchannels, shares."""
