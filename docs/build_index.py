"""The front page of `make docs`: one index linking each face's API reference, and the C
README rendered to HTML next to the header it documents.

    python docs/build_index.py OUT_DIR RUST_DOC_DIR

OUT_DIR already holds the Python reference (pdoc, in OUT_DIR/python); RUST_DOC_DIR is cargo
doc's output. Fails (exit 1) when a page it links to is missing, so a face whose reference did
not build cannot hide behind a dead link.
"""

import html
import os
import shutil
import sys

import markdown2  # pdoc's own Markdown renderer: no extra dependency

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

RUST_CRATES = [
    ("haoyuan", "the engine: Engine, booking, availability, durability (DurableEngine)"),
    ("haoyuan_sim", "the city simulator"),
    ("haoyuan_fhir", "HL7 FHIR R4 scheduling"),
]
# The C ABI's crate: its library is named `haoyuan` as well, so its pages live apart
# (mk/docs.mk copies them to OUT_DIR/ffi-rust).
FFI_CRATE = ("haoyuan", "haoyuan_ffi: the C ABI as Rust sees it (the C view is the header)")


def page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.45}"
        "pre{background:#f6f6f6;padding:.6em;overflow-x:auto}code{background:#f6f6f6}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em}</style>"
        f"</head><body>{body}</body></html>\n"
    )


def main() -> int:
    out, rust = sys.argv[1], sys.argv[2]
    missing = []
    # The C face: its README, rendered, and the header it links to.
    readme = open(os.path.join(ROOT, "ffi", "README.md"), encoding="utf-8").read()
    readme = readme.replace("(include/haoyuan.h)", "(haoyuan.h)")
    body = markdown2.markdown(readme, extras=["fenced-code-blocks", "tables", "header-ids"])
    with open(os.path.join(out, "c.html"), "w", encoding="utf-8") as f:
        f.write(page("haoyuan — C ABI", body))
    shutil.copy(os.path.join(ROOT, "ffi", "include", "haoyuan.h"), os.path.join(out, "haoyuan.h"))

    items = []
    for crate, what in RUST_CRATES:
        target = os.path.join(rust, crate, "index.html")
        if not os.path.exists(target):
            missing.append(target)
        rel = os.path.relpath(target, out)
        items.append(f'<li><a href="{rel}"><code>{crate}</code></a> — {html.escape(what)}</li>')
    ffi_target = os.path.join(out, "ffi-rust", FFI_CRATE[0], "index.html")
    if not os.path.exists(ffi_target):
        missing.append(ffi_target)
    items.append(
        f'<li><a href="ffi-rust/{FFI_CRATE[0]}/index.html"><code>haoyuan-ffi</code></a> — '
        f"{html.escape(FFI_CRATE[1])}</li>"
    )
    python_index = os.path.join(out, "python", "haoyuan.html")
    if not os.path.exists(python_index):
        missing.append(python_index)
    body = (
        "<h1>haoyuan 号源 — API reference</h1>"
        "<p>One engine, three faces with one vocabulary (see <code>docs/faces.md</code>).</p>"
        "<h2>Rust</h2><ul>" + "".join(items) + "</ul>"
        '<h2>Python</h2><ul><li><a href="python/haoyuan.html"><code>haoyuan</code></a> — the '
        "engine, <code>haoyuan.sim</code>, plots, reports, sweeps</li></ul>"
        '<h2>C</h2><ul><li><a href="c.html">the C ABI</a> (build, link, marshalling rules, who '
        'frees what) and its header <a href="haoyuan.h"><code>haoyuan.h</code></a></li></ul>'
    )
    with open(os.path.join(out, "index.html"), "w", encoding="utf-8") as f:
        f.write(page("haoyuan — API reference", body))
    for m in missing:
        print(f"docs: missing {m}", file=sys.stderr)
    if not missing:
        print(f"docs: {os.path.join(out, 'index.html')}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
