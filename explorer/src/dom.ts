// Small DOM helpers: every text goes in through textContent or escape(), never raw HTML,
// except the API's search highlights (titleHtml/snippet), which the API escapes and marks.

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c);
}

// The API's highlight HTML is escaped text with <mark> tags; anything else is shown as text.
function highlighted(html: string): string {
  return /</.test(html.replace(/<\/?mark>/g, "")) ? escape(html) : html;
}

function words(code: string): string {
  const text = code.replace(/_/g, " ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function main(): HTMLElement {
  return document.getElementById("maincontent") as HTMLElement;
}

function setTitle(title: string): void {
  document.title = `${title} - Spread Explorer`;
}

function showError(problem: Problem): void {
  const needsKey = problem.status === 401 || problem.status === 403;
  setTitle("There is a problem");
  main().innerHTML = `
    <div class="nhsuk-error-summary" aria-labelledby="error-summary-title" role="alert" tabindex="-1">
      <h1 class="nhsuk-error-summary__title" id="error-summary-title">There is a problem</h1>
      <div class="nhsuk-error-summary__body">
        <p data-testid="problem-title">${escape(problem.title)}${problem.status ? ` (${problem.status})` : ""}</p>
        <p data-testid="problem-detail">${escape(problem.detail ?? "")}</p>
        <ul class="nhsuk-list nhsuk-error-summary__list">
          ${needsKey ? '<li><a href="#/key">Paste a read-only API key</a></li>' : ""}
          <li><a href="#/">Go back to search</a></li>
        </ul>
      </div>
    </div>`;
  (main().querySelector(".nhsuk-error-summary") as HTMLElement).focus();
}
