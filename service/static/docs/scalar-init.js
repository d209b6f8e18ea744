// Starts Scalar on /schema. A file, not an inline script, so the page's
// Content-Security-Policy can say script-src 'self' and nothing else. Nothing is fetched from
// elsewhere: no CDN fonts, no proxy, no telemetry.
(function () {
  var root = document.getElementById("app");
  Scalar.createApiReference("#app", {
    url: root.dataset.url,
    withDefaultFonts: false,
    telemetry: false,
    defaultOpenAllTags: true,
    hideClientButton: false,
    showDeveloperTools: "never",
    agent: { disabled: true },
    mcp: { disabled: true },
  });
})();
