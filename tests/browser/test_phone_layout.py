"""A phone (390 x 844) and the desktop (1440 px) in a real browser: the collapsed menu closes
once a page is chosen, the metric cards are evenly spaced, the charts stay readable (plot
area, legend, every bar's label), the time-zone dropdown takes typing as it opens, the donut
labels its large slices, and the empty-database panel is full width with nothing cut.
Screenshots go to test-artifacts/screenshots/phone-*.png and desk-*.png."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_pages import (  # noqa: F401  (fixtures)
    SHOTS,
    _serve,
    browser,
    ingest_demo,
    new_page,
    server,
    shot,
)
from webapp_seed import seed_empty

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A 4-day demo: eleven models, ten tools (more than a chart shows one by one)."""
    yield from _serve(ingest_demo(tmp_path_factory.mktemp("phone-demo")))


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:  # noqa: F811
    with new_page(browser, 390, 844, is_mobile=True) as pg:
        yield pg


@pytest.fixture
def desk(browser: Any) -> Iterator[Any]:  # noqa: F811
    with new_page(browser) as pg:
        yield pg


def test_menu_closes_after_choosing_a_page(phone: Any, server: str) -> None:  # noqa: F811
    phone.goto(server + "/")
    phone.wait_for_selector("#card-cost-value:has-text('$2.88')")
    phone.click("#nav-toggle")
    phone.wait_for_selector("#nav-collapse.show #nav-models")
    phone.click("#nav-models")
    phone.wait_for_url("**/models**")
    phone.wait_for_selector("#models-grid .ag-row")
    phone.wait_for_selector("#nav-collapse:not(.show):not(.collapsing)", state="attached")
    assert not phone.is_visible("#nav-models")
    # the page's own controls are at the top again, not under the menu
    assert phone.locator("#ctl-range").bounding_box()["y"] < 200
    shot(phone, "phone-after-nav")


def test_metric_cards_evenly_spaced(phone: Any, server: str) -> None:  # noqa: F811
    phone.goto(server + "/")
    phone.wait_for_selector("#card-savings-value")
    boxes = phone.evaluate(
        """() => [...document.querySelectorAll('.metric-card')].map(c => {
             const r = c.getBoundingClientRect(); return [Math.round(r.top), Math.round(r.bottom)];
           })"""
    )
    tops = sorted({t for t, _ in boxes})
    bottoms = sorted({b for _, b in boxes})
    assert len(tops) == 6  # 11 cards, two a row
    # the gap from each row's lowest card to the next row: 16 px everywhere (was 32 / 16)
    gaps = [top - max(b for t, b in boxes if t == prev) for prev, top in itertools.pairwise(tops)]
    assert gaps == [16] * 5, (gaps, bottoms)
    shot(phone, "phone-overview-cards")


PLOT = """(id) => {
  const g = document.getElementById(id), gd = g.querySelector('.js-plotly-plot');
  const box = (e) => { if (!e) return null; const r = e.getBoundingClientRect();
                       return {top: r.top, bottom: r.bottom, width: r.width, height: r.height}; };
  const shown = (e) => getComputedStyle(e).display !== 'none'
                       && e.getBoundingClientRect().width > 0;
  return {graph: box(g), plot: box(gd.querySelector('.nsewdrag')),
          legend: box(gd.querySelector('.legend')),
          ticks: [...gd.querySelectorAll('.ytick text')].filter(shown).length,
          notes: [...gd.querySelectorAll('.annotation-text')].filter(shown).length,
          models: gd.data[0].y ? gd.data[0].y.length : 0};
}"""


def _measure(pg: Any, gid: str) -> dict[str, Any]:
    pg.wait_for_selector(f"#{gid} .nsewdrag")
    pg.wait_for_timeout(300)  # the phone layout is applied after Plotly's first draw
    return dict(pg.evaluate(PLOT, gid))


def test_phone_charts_are_readable(phone: Any, demo: str) -> None:
    phone.goto(demo + "/models?range=all")
    phone.wait_for_selector("#models-grid .ag-row")
    cost = _measure(phone, "models-cost-time")
    # 10 legend entries (9 models and "other") under a plot of its own height (was ~60 px)
    assert cost["plot"]["height"] >= 200, cost
    assert cost["legend"]["bottom"] <= cost["graph"]["bottom"], cost  # not cut off
    for gid in ("models-tokens", "models-calls"):
        m = _measure(phone, gid)
        assert m["models"] == 11
        assert (m["ticks"], m["notes"]) == (0, 11), m  # each bar's label above it
        assert m["plot"]["width"] >= 280, m  # the bars get the width (was ~60 px)
        assert m["plot"]["height"] >= 11 * 40, m
    phone.screenshot(path=str(SHOTS / "phone-models.png"), full_page=True)
    phone.goto(demo + "/tools?range=all")
    top = _measure(phone, "tools-top")
    assert (top["ticks"], top["notes"], top["models"]) == (0, 10, 10), top
    assert top["plot"]["width"] >= 280, top
    time = _measure(phone, "tools-time")
    assert time["plot"]["height"] >= 200, time
    assert time["legend"]["bottom"] <= time["graph"]["bottom"], time
    phone.screenshot(path=str(SHOTS / "phone-tools.png"), full_page=True)


def test_desktop_charts_keep_labels_beside_the_bars(desk: Any, demo: str) -> None:
    desk.goto(demo + "/models?range=all")
    desk.wait_for_selector("#models-grid .ag-row")
    for gid in ("models-tokens", "models-calls"):
        m = _measure(desk, gid)
        assert (m["ticks"], m["notes"]) == (11, 0), m  # every model labelled, none skipped
    # the donut: a percentage on every slice of 10 % or more
    labelled = desk.evaluate(
        """() => {
          const gd = document.querySelector('#models-share .js-plotly-plot');
          const vals = gd.data[0].values, total = vals.reduce((a, b) => a + b, 0);
          const texts = [...gd.querySelectorAll('g.slice')].map(s => {
            const t = s.querySelector('.slicetext');
            const on = t && getComputedStyle(t).display !== 'none';
            return on && t.textContent ? t.textContent : '';
          });
          return vals.map((v, i) => [v / total, texts[i]]);
        }"""
    )
    big = [(share, text) for share, text in labelled if share >= 0.1]
    assert big and all(text == f"{round(share * 100)}%" for share, text in big), labelled
    shot(desk, "desk-models")


def test_time_zone_search_takes_typing(desk: Any, server: str) -> None:  # noqa: F811
    desk.goto(server + "/")
    desk.wait_for_selector("#card-cost-value:has-text('$2.88')")
    desk.click("#ctl-tz")
    desk.wait_for_selector(".dash-dropdown-content input.dash-dropdown-search")
    desk.wait_for_function(
        "document.activeElement && document.activeElement.matches('input.dash-dropdown-search')"
    )
    desk.keyboard.type("Berl")
    assert desk.input_value(".dash-dropdown-content input.dash-dropdown-search") == "Berl"
    desk.click("[role=option]:has-text('Europe/Berlin')")
    desk.wait_for_url("**tz=Europe%2FBerlin**")


def test_empty_database_panel_is_whole(desk: Any, tmp_path: Path) -> None:
    for url in _serve(seed_empty(tmp_path / "empty.sqlite")):
        desk.goto(url + "/")
        desk.wait_for_selector("#db-empty .command-block")
        m = desk.evaluate(
            """() => {
              const p = document.getElementById('db-empty'), c = p.querySelector('.command-block');
              return {panel: p.getBoundingClientRect().width,
                      page: document.getElementById('page').getBoundingClientRect().width,
                      scroll: c.scrollWidth, client: c.clientWidth};
            }"""
        )
        assert m["panel"] == m["page"], m  # full width (was 860 px)
        assert m["scroll"] <= m["client"], m  # every command line whole (wrapped), none cut
        shot(desk, "desk-empty-database")
