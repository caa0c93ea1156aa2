"""What every client page must pass in the browser: axe-core's WCAG 2.2 A/AA rules with no
violation, and no sideways scrolling at the width of the page's viewport.

axe-core is vendored (tests/assets/axe.min.js, see tests/assets/README.md) so the check runs
offline and the same version everywhere; a new version is a deliberate change.
"""

from __future__ import annotations

from pathlib import Path

AXE = Path(__file__).resolve().parents[1] / "assets" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def axe_violations(page) -> list[str]:
    """axe-core's violations on the page as it is now, one line each (rule, impact, first nodes)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # Evaluated through the DevTools protocol, which the portal's CSP (script-src 'self')
        # does not govern, so the page under test keeps its real headers.
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
    result = page.evaluate(
        """async (tags) => {
            const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
            return r.violations.map(v => ({
                id: v.id, impact: v.impact,
                nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ') + ' :: ' + n.failureSummary)
            }));
        }""",
        WCAG_TAGS,
    )
    return [f"{v['id']} ({v['impact']}): {' | '.join(v['nodes'])}" for v in result]


def sideways_overflow(page) -> int:
    """How many CSS pixels the page scrolls sideways (0 when it fits its viewport)."""
    return page.evaluate(
        "() => Math.max(0, document.scrollingElement.scrollWidth - window.innerWidth)"
    )


def problems(page) -> list[str]:
    """Everything wrong with the page as a client sees it now; empty when it passes."""
    found = [f"axe: {line}" for line in axe_violations(page)]
    overflow = sideways_overflow(page)
    if overflow:
        found.append(f"scrolls sideways by {overflow}px at {page.viewport_size['width']}px")
    return found
