// End-to-end: Swagger UI at /docs, Authorize with the OAuth2 password flow, then
// "Try it out" on GET /users/me; and a disabled user's failed Authorize.
//
//   BASE_URL=http://127.0.0.1:8000 node swagger.mjs
//
// Env: BASE_URL (required), CHROMIUM (default /usr/bin/chromium), ARTIFACTS (screenshot
// folder, default ../../test-artifacts). Exits non-zero on any failed step.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const base = process.env.BASE_URL;
if (!base) throw new Error("BASE_URL is not set");
const artifacts = resolve(process.env.ARTIFACTS ?? join(here, "..", "..", "test-artifacts"));
mkdirSync(artifacts, { recursive: true });
for (const old of readdirSync(artifacts).filter((f) => /^swagger-.*\.png$/.test(f))) {
  rmSync(join(artifacts, old));
}

const profile = mkdtempSync(join(tmpdir(), "tower-bearer-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  viewport: { width: 1280, height: 1400 },
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});

let passed = 0;
let failed = 0;
const step = async (name, body) => {
  const started = Date.now();
  try {
    await body();
    passed += 1;
    console.log(`ok - ${name} (${Date.now() - started} ms)`);
  } catch (error) {
    failed += 1;
    console.log(`not ok - ${name}\n${error.stack ?? error}`);
    throw error;
  }
};

const page = context.pages()[0] ?? (await context.newPage());
page.setDefaultTimeout(15_000);
// Nothing but the server under test may be contacted.
const foreign = [];
page.on("request", (request) => {
  if (!request.url().startsWith(base) && !request.url().startsWith("data:")) {
    foreign.push(request.url());
  }
});
const pageErrors = [];
page.on("pageerror", (error) => pageErrors.push(String(error)));
// Content-Security-Policy violations: reported on the console by Chromium, and as
// `securitypolicyviolation` events, collected in the page before any script runs.
const cspViolations = [];
page.on("console", (message) => {
  if (/Content Security Policy|Content-Security-Policy/i.test(message.text())) {
    cspViolations.push(message.text());
  }
});
await page.addInitScript(() => {
  window.__cspViolations = [];
  document.addEventListener("securitypolicyviolation", (event) => {
    window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
  });
});

const modal = page.locator(".modal-ux");

async function authorize(username, password) {
  await page.locator(".auth-wrapper button.authorize").click();
  await modal.waitFor();
  await modal.locator("#oauth_username").fill(username);
  await modal.locator("#oauth_password").fill(password);
  // Tick every scope checkbox the scheme declares.
  const boxes = modal.locator(".scopes input[type=checkbox]");
  const count = await boxes.count();
  assert.ok(count >= 2, `expected the scheme's scopes, found ${count} checkboxes`);
  for (let i = 0; i < count; i += 1) {
    const box = boxes.nth(i);
    if (!(await box.isChecked())) {
      await modal.locator(`label[for="${await box.getAttribute("id")}"]`).click();
    }
    assert.ok(await box.isChecked(), "scope checkbox ticked");
  }
  const tokenRequest = page.waitForRequest((r) => r.url() === `${base}/token`);
  const tokenResponse = page.waitForResponse((r) => r.url() === `${base}/token`);
  await modal.locator(".auth-btn-wrapper button.authorize").click();
  const request = await tokenRequest;
  const headers = await request.allHeaders();
  assert.equal(headers.authorization, "Basic Og==", "Swagger UI sends an empty client");
  const form = new URLSearchParams(request.postData() ?? "");
  assert.equal(form.get("grant_type"), "password");
  assert.equal(form.get("username"), username);
  return tokenResponse;
}

try {
  await step("GET /docs shows the contract's routes", async () => {
    const response = await page.goto(`${base}/docs`);
    assert.equal(response.status(), 200);
    assert.ok(page.url().endsWith("/docs/"), page.url());
    const headers = await response.allHeaders();
    assert.match(headers["content-security-policy"] ?? "", /frame-ancestors 'none'/);
    assert.match(headers["content-security-policy"] ?? "", /script-src 'self'(;|$)/);
    assert.equal(headers["x-frame-options"], "DENY");
    assert.equal(headers["cache-control"], "no-store");
    for (const id of ["root", "status", "users_me", "users_me_items", "token"]) {
      await page.locator(`#operations-default-${id}`).waitFor();
    }
    await page.locator(".auth-wrapper button.authorize").waitFor();
  });

  await step("Authorize as johndoe with the scopes", async () => {
    const response = await authorize("johndoe", "secret");
    assert.equal(response.status(), 200);
    const body = await response.json();
    assert.equal(body.token_type, "bearer");
    for (const scope of ["me", "items"]) {
      assert.ok(body.scope.split(" ").includes(scope), `granted ${scope}: ${body.scope}`);
    }
    // The modal now offers Logout: the UI holds the token.
    await modal.locator("button", { hasText: "Logout" }).first().waitFor();
    await modal.locator("button.btn-done", { hasText: "Close" }).first().click();
    await modal.waitFor({ state: "detached" });
  });

  await step("Try it out: GET /users/me answers 200 with the user", async () => {
    const operation = page.locator("#operations-default-users_me");
    await operation.locator(".opblock-summary").first().click();
    await operation.locator("button.try-out__btn").click();
    const apiRequest = page.waitForRequest((r) => r.url() === `${base}/users/me`);
    await operation.locator("button.execute").click();
    const headers = await (await apiRequest).allHeaders();
    assert.match(headers.authorization ?? "", /^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
    const live = operation.locator(".live-responses-table tbody tr.response");
    await live.locator(".response-col_status").first().waitFor();
    assert.equal((await live.locator(".response-col_status").first().innerText()).trim(), "200");
    const body = await live.locator(".response-col_description pre").first().innerText();
    assert.deepStrictEqual(JSON.parse(body), {
      username: "johndoe",
      full_name: "John Doe",
      email: "johndoe@example.com",
      disabled: false,
    });
    await operation.scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(artifacts, "swagger-users-me-200.png"), fullPage: true });
  });

  await step("Logout, then Authorize as the disabled alice shows the error", async () => {
    await page.locator(".auth-wrapper button.authorize").click();
    await modal.waitFor();
    await modal.locator("button", { hasText: "Logout" }).first().click();
    await modal.locator("button", { hasText: "Close" }).first().click();
    await modal.waitFor({ state: "detached" });
    const response = await authorize("alice", "secretalice");
    assert.equal(response.status(), 400);
    assert.equal((await response.json()).error, "invalid_grant");
    const errors = modal.locator(".errors");
    await errors.waitFor();
    const text = await errors.innerText();
    assert.match(text, /Auth Error/);
    assert.match(text, /invalid_grant/);
    await page.screenshot({ path: join(artifacts, "swagger-alice-error.png") });
  });

  await step("no request left the server under test, no page errors", async () => {
    assert.deepEqual(foreign, []);
    assert.deepEqual(pageErrors, []);
  });

  await step("the UI ran under its Content-Security-Policy without a violation", async () => {
    assert.deepEqual(await page.evaluate(() => window.__cspViolations), []);
    assert.deepEqual(cspViolations, []);
  });

  await step("the page refuses to be framed by another origin", async () => {
    // A page on another origin (a data: URL is opaque) frames /docs/: Chromium must
    // block it (frame-ancestors 'none', X-Frame-Options: DENY).
    const framer = await context.newPage();
    framer.setDefaultTimeout(15_000);
    await framer.goto(
      `data:text/html,<iframe id="f" onload="this.dataset.loaded=1" src="${base}/docs/"></iframe>`,
    );
    // The iframe's load event fires for a blocked frame too (with an error page).
    await framer.waitForFunction(() => document.getElementById("f")?.dataset.loaded === "1");
    const frame = await (await framer.locator("#f").elementHandle()).contentFrame();
    assert.ok(frame, "the iframe has a frame");
    // Had the page loaded, its static #swagger-ui element would be there at once.
    assert.equal(await frame.locator("#swagger-ui").count(), 0, `framed: ${frame.url()}`);
    await framer.close();
  });
} catch {
  await page
    .screenshot({ path: join(artifacts, "swagger-failure.png"), fullPage: true })
    .catch(() => {});
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}

console.log(`screenshots in ${artifacts}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
