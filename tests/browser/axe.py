"""axe-core, the accessibility engine from the npm registry (pinned in package.json), run inside a Playwright page.

`assert_accessible(page)` injects `node_modules/axe-core/axe.min.js` into the page as it is and fails on any
violation axe rates serious or critical, listing each rule with the elements it found; minor and moderate findings
are left to review. `assert_no_table_overflow(page)` checks that no table reaches past the viewport's right edge
and that the page itself does not scroll sideways (tables are read on a 390 px phone).
"""

from pathlib import Path

from django.conf import settings

AXE_SCRIPT = Path(settings.NODE_MODULES) / "axe-core" / "axe.min.js"
BLOCKING_IMPACTS = ("serious", "critical")


def axe_violations(page, *, impacts=BLOCKING_IMPACTS) -> list[dict]:
    if not AXE_SCRIPT.exists():
        raise AssertionError(f"{AXE_SCRIPT} is missing: `make install` (npm ci) installs axe-core")
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_SCRIPT))
    results = page.evaluate(
        """async () => {
            const results = await window.axe.run(document, {resultTypes: ["violations"]});
            return results.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                targets: v.nodes.slice(0, 5).map(n => n.target.join(" ") + " :: " + n.failureSummary),
            }));
        }"""
    )
    return [violation for violation in results if violation["impact"] in impacts]


def assert_accessible(page) -> None:
    violations = axe_violations(page)
    report = "\n".join(
        f"- {v['impact']} {v['id']} ({v['help']}) at {page.url}:\n    " + "\n    ".join(v["targets"])
        for v in violations
    )
    assert not violations, f"axe-core found serious or critical violations:\n{report}"


def assert_no_table_overflow(page) -> None:
    overflow = page.evaluate(
        """() => {
            const width = document.documentElement.clientWidth;
            const tables = [...document.querySelectorAll("main table")]
                .filter(t => t.offsetParent !== null)
                .map(t => ({id: t.id || t.className, right: Math.round(t.getBoundingClientRect().right)}))
                .filter(t => t.right > width + 1);
            return {width, page: document.documentElement.scrollWidth, tables};
        }"""
    )
    assert overflow["page"] <= overflow["width"] + 1, (
        f"{page.url} scrolls sideways at {overflow['width']} px: {overflow}"
    )
    assert not overflow["tables"], (
        f"tables wider than the {overflow['width']} px screen at {page.url}: {overflow['tables']}"
    )
