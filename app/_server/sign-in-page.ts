/**
 * The sign-in page of a protected Latent Atlas: one password field that POSTs the token to
 * /api/session (never in a URL), then returns to the page asked for. Plain HTML with its own small
 * style, because it is served by the middleware before any page or stylesheet is allowed.
 */

const ESCAPES: Readonly<Record<string, string>> = Object.freeze({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' });
const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);

/** A same-origin path to return to after signing in ('/' for anything else: no open redirects). */
export function safeNext(path: string | null | undefined): string {
  return path && path.startsWith('/') && !path.startsWith('//') && !path.startsWith('/\\') && path.length <= 2000 ? path : '/';
}

/** The sign-in page's HTML; `message` says why the last try failed. */
export function signInPage({ next, message }: { next: string; message?: string }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · Latent Atlas</title>
<style>
body{margin:0;font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1d2430;background:#f6f7f9}
main{max-width:420px;margin:10vh auto;padding:24px;background:#fff;border:1px solid #e3e6ea;border-radius:10px}
h1{font-size:1.4rem;margin:0 0 8px}
label{display:block;font-weight:600;margin:16px 0 6px}
input{font:inherit;width:100%;box-sizing:border-box;padding:8px 10px;border:1px solid #667085;border-radius:6px}
button{font:inherit;margin-top:12px;padding:8px 16px;border-radius:6px;border:1px solid #3558d6;background:#3558d6;color:#fff;cursor:pointer}
.error{color:#b42318}
</style>
</head>
<body>
<main>
<h1>Latent Atlas</h1>
<p>This Latent Atlas is protected. Enter its access token (LATENT_ATLAS_TOKEN) to continue.</p>
${message ? `<p class="error" role="alert" data-testid="sign-in-error">${escapeHtml(message)}</p>` : ''}
<form method="post" action="/api/session" data-testid="sign-in-form">
<input type="hidden" name="next" value="${escapeHtml(safeNext(next))}">
<label for="token">Access token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus data-testid="sign-in-token">
<button type="submit" data-testid="sign-in-submit">Sign in</button>
</form>
</main>
</body>
</html>
`;
}

/** The sign-in page as a response (401 until the token is given, 429 while a client must wait). */
export function signInResponse(options: { next: string; message?: string; status?: number; headers?: Record<string, string> }): Response {
  return new Response(signInPage(options), {
    status: options.status ?? 401,
    headers: { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store', ...options.headers },
  });
}
