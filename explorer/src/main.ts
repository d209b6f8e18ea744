// The router: the URL hash picks the page; any failure becomes an NHS error summary on the page.

async function route(): Promise<void> {
  const [path, queryString] = location.hash.replace(/^#/, "").split("?");
  const query = new URLSearchParams(queryString ?? "");
  const parts = (path || "/").split("/").filter(Boolean).map(decodeURIComponent);
  document.body.setAttribute("data-state", "loading");
  try {
    if (parts.length === 0) await searchPage(query);
    else if (parts[0] === "innovations" && parts.length === 2) await innovationPage(parts[1]);
    else if (parts[0] === "sites" && parts.length === 2) await sitePage(parts[1]);
    else if (parts[0] === "campaigns" && parts.length === 1) await campaignsPage();
    else if (parts[0] === "campaigns" && parts.length === 2) await campaignPage(parts[1]);
    else if (parts[0] === "key") await keyPage();
    else showError({ title: "Page not found", status: 404, detail: "There is no explorer page at this address." });
  } catch (error) {
    if (error instanceof ApiError) showError(error.problem);
    else showError({ title: "Something went wrong", status: 0, detail: "The page could not be shown. Try again, or go back to search." });
  }
  document.body.setAttribute("data-state", "ready");
  const keyLink = document.getElementById("key-status");
  if (keyLink) keyLink.textContent = sessionStorage.getItem(KEY_STORAGE) ? "Key: set (change)" : "Paste an API key";
}

window.addEventListener("hashchange", () => void route());
void route();
