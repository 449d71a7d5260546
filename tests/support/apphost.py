"""A test host for the MCP App: a page that speaks the host side of the spec (`ui/initialize`, the tool-input and
tool-result notifications, `tools/call` forwarded to a real server, `ui/message`, `size-changed`) to the view in a
sandboxed iframe, as Claude Desktop and the other hosts do."""

import json
from typing import Any

HOST = """<!doctype html>
<html><head><meta charset="utf-8"><title>test host</title>
<style>
  body { margin: 0; background: %(page)s; }
  iframe { width: 900px; border: 0; display: block; height: 300px; }
</style>
</head><body>
<iframe id="view" sandbox="allow-scripts" title="segments view"></iframe>
<script>
  window.__context = %(context)s;
  window.__input = %(input)s;
  window.__result = %(result)s;
  window.__log = []; window.__messages = []; window.__sizes = []; window.__context_updates = [];
  window.__initialized = false;
  const frame = document.getElementById("view");
  const send = (method, params) => frame.contentWindow.postMessage({ jsonrpc: "2.0", method, params }, "*");
  window.__send = send;
  window.addEventListener("message", async (event) => {
    if (event.source !== frame.contentWindow) return;
    const m = event.data;
    window.__log.push(m.method || ("answer " + m.id));
    const reply = (result) => frame.contentWindow.postMessage({ jsonrpc: "2.0", id: m.id, result }, "*");
    const fail = (message) =>
      frame.contentWindow.postMessage({ jsonrpc: "2.0", id: m.id, error: { code: -32000, message } }, "*");
    if (m.method === "ui/initialize") {
      reply({ protocolVersion: "2026-01-26", hostInfo: { name: "test-host", version: "1" },
              hostCapabilities: { serverTools: {}, serverResources: {} }, hostContext: window.__context });
    } else if (m.method === "ui/notifications/initialized") {
      window.__initialized = true;
      send("ui/notifications/tool-input", { arguments: window.__input });
      send("ui/notifications/tool-result", window.__result);
    } else if (m.method === "tools/call") {
      try { reply(await window.callTool(m.params.name, m.params.arguments || {})); } catch (e) { fail(String(e)); }
    } else if (m.method === "ui/message") {
      window.__messages.push(m.params); reply({});
    } else if (m.method === "ui/update-model-context") {
      window.__context_updates.push(m.params); reply({});
    } else if (m.method === "ui/notifications/size-changed") {
      window.__sizes.push(m.params); frame.style.height = m.params.height + "px";
    } else if (m.id !== undefined) {
      fail("not supported by the test host");
    }
  });
  frame.srcdoc = %(app)s;
</script></body></html>"""

DARK = {
    "--color-background-primary": "#15171a",
    "--color-text-primary": "#f1f3f5",
    "--font-sans": "DejaVu Sans, sans-serif",
}
LIGHT = {
    "--color-background-primary": "#ffffff",
    "--color-text-primary": "#15171a",
    "--font-sans": "DejaVu Sans, sans-serif",
}


def host_page(app: str, result: dict[str, Any], arguments: dict[str, Any], *, theme: str = "light") -> str:
    """The host page, rendering `app` for one tool call's `arguments` and `result` (a CallToolResult as JSON)."""
    variables = DARK if theme == "dark" else LIGHT
    context = {"theme": theme, "styles": {"variables": variables}, "displayMode": "inline", "locale": "en-US"}
    return HOST % {
        "page": variables["--color-background-primary"],
        "context": _script(context),
        "input": _script(arguments),
        "result": _script(result),
        "app": _script(app),
    }


def _script(value: Any) -> str:
    """A value as JavaScript inside a <script> element: JSON whose `</` cannot end the element."""
    return json.dumps(value).replace("</", "<\\/")
