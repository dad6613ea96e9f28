// The link's token (7 days) is exchanged for a short-lived one (POST /api/grant) that every
// API call and WebSocket of the page uses, renewed before it expires. Revoking the link, or
// the session's tokens, revokes what it was exchanged for; the link itself is then only
// ever sent to /api/grant.
(function () {
  "use strict";
  const link = new URLSearchParams(location.search).get("token") || "";
  const auth = window.lgdAuth = { token: link, expires: 0, ready: null };
  async function renew() {
    try {
      const r = await fetch("/api/grant", { method: "POST", headers: { Authorization: `Bearer ${link}` } });
      if (r.ok) {
        const g = await r.json();
        auth.token = g.token;
        auth.expires = g.expires;
        setTimeout(renew, Math.max(30, 0.8 * (g.expires - Date.now() / 1000)) * 1000);
        return;
      }
    } catch (e) { /* the server is away: keep what we have, try again */ }
    setTimeout(renew, 30000);
  }
  auth.ready = renew();
})();
