"""The web page in real headless Chromium (Debian's package, driven by Playwright; never a downloaded browser)
against the real server and the real pipeline on the embedded broker, agents inline.

Screenshots are kept under .tourguide/artifacts/ (ignored by git).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from playwright.async_api import Browser, Dialog, Page, async_playwright, expect

from bot.schemas import Condition, Language
from bot.wording.cards import card_words
from tests.browser.stack import REFERENCE, web_stack
from tests.standins.fake_openai import FakeOpenAI, completion, trip_reading

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / ".tourguide" / "artifacts"
XSS = ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "[x](javascript:alert(1))")

expect.set_options(timeout=15_000)  # each wait ends as soon as its condition holds; 15 s is for a loaded CI machine

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists() and os.environ.get("CI") != "true",
                                reason="Debian's chromium is not installed (scripts/test installs it under CI)")


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            await browser.close()


async def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


async def ask(page: Page, text: str) -> None:
    await page.fill("#text", text)
    await page.press("#text", "Enter")


async def test_reference_request_shows_steps_in_order_then_five_day_cards_and_every_hop(tmp_path: Path) -> None:
    async with web_stack(tmp_path, agent_latency_s=0.3) as web, chromium() as browser:
        page = await browser.new_page(viewport={"width": 1100, "height": 900}, locale="zh-CN")
        await page.goto(web.url)
        await expect(page.locator("#connection")).to_have_text("已连接")  # the page in the browser's language
        await expect(page.locator("#send")).to_have_text("发送")
        assert await page.evaluate("document.documentElement.lang") == "zh-CN"
        await ask(page, REFERENCE)
        run = page.locator(".run")
        await expect(run.locator('.step[data-step="weather"]')).to_be_visible()
        await expect(run.locator('.step[data-step="travel"]')).to_be_visible()
        assert await run.locator(".step").evaluate_all("nodes => nodes.map(n => n.dataset.step)") == ["weather",
                                                                                                       "travel"]
        cards = run.locator(".day-card")
        await expect(cards).to_have_count(5, timeout=20_000)
        await expect(run.locator(".step[data-status='ok']")).to_have_count(2)
        await expect(run.locator(".step[data-attempt='1']")).to_have_count(2)  # each picked up on the first try
        await expect(run).to_have_attribute("data-outcome", "completed")
        await expect(run.locator(".run-status")).to_contain_text("行程已发在下方")  # the request's language
        await expect(run.locator('.step[data-step="weather"] .name')).to_have_text("天气")
        assert await cards.evaluate_all("cards => cards.map(c => c.dataset.date)") == [
            "2026-12-02", "2026-12-03", "2026-12-04", "2026-12-05", "2026-12-06"]
        zh = card_words(Language.ZH)
        for i in range(5):
            card = cards.nth(i)
            await expect(card.locator(".weather .icon")).to_have_count(1)
            label = await card.locator(".weather .label").text_content()
            assert label in zh.sources.values()
            condition = card.locator(".weather .condition")
            code = await condition.get_attribute("data-condition")
            assert await condition.text_content() == zh.conditions[Condition(code or "")]
            assert "°" in (await card.locator(".weather").text_content() or "")
            assert (await card.locator(".rain-chance").text_content() or "").startswith("降水 ")
        await expect(run.locator(".weather .condition", has_text="多云")).not_to_have_count(0)
        assert await run.locator(".mark.indoor, .mark.outdoor").count() >= 5
        assert set(await run.locator(".mark.indoor, .mark.outdoor").all_text_contents()) == {"🏠 室内", "🌳 户外"}
        assert "车程" in (await run.locator(".mark.drive").first.text_content() or "")
        await expect(run.locator(".step .elapsed").first).to_contain_text("用时")
        await expect(run.locator("details.full-text summary")).to_have_text("完整文字版")
        await expect(run.locator("svg.chart polyline")).to_have_count(2)
        assert "行程期间的气温与降水" in (await run.locator("svg.chart").get_attribute("aria-label") or "")
        await expect(run.locator(".chart-legend")).to_contain_text("最高 °C")
        assert await run.locator("svg.chart text.day").count() == 5  # a date under each bar
        # No English product word in a Chinese answer's cards, chart or steps (the model's own text aside).
        shown = await run.evaluate("node => node.innerText")
        assert not re.search(r"took|indoor|outdoor|partly cloudy|rain \d|Full text|OFFLINE|working", shown)
        await shot(page, "web-itinerary")

        await run.locator(".run-head a").click()  # the trace of this task
        trace = page.locator(".trace")
        await expect(trace).to_have_count(1)
        # The view refreshes itself until the last hops are in: the delivery, and the last result's ack.
        await expect(trace.locator(".hop", has_text="answer delivered")).to_have_count(1)
        await expect(trace.locator('.hop[data-hop="bus:acked"]')).to_have_count(4)
        hops = await trace.locator(".hop .name").all_text_contents()
        details = " ".join(await trace.locator(".hop .detail").all_text_contents())
        await expect(trace.locator(".axis .tick")).to_have_count(len(hops))
        await shot(page, "web-trace")
    assert hops[0] == "session"
    assert {"step:weather", "step:travel", "bus:published", "bus:delivered", "bus:acked", "outbox"} <= set(hops)
    assert "topic=WeatherAgentTask" in details and "lite_topic=task-" in details and "msg_id=" in details


async def test_reloading_mid_request_reattaches_and_the_answer_arrives_exactly_once(tmp_path: Path) -> None:
    async with web_stack(tmp_path, agent_latency_s=1.0) as web, chromium() as browser:
        page = await browser.new_page()
        await page.goto(web.url)
        await expect(page.locator("#connection")).to_have_attribute("data-state", "live")
        await ask(page, REFERENCE)
        await expect(page.locator('.step[data-step="weather"]')).to_be_visible()
        assert await page.locator(".answer-text").count() == 0  # still working
        await page.reload()
        await expect(page.locator(".bubble.user")).to_have_text([REFERENCE])  # the conversation came back
        await expect(page.locator(".day-card")).to_have_count(5, timeout=20_000)
        await expect(page.locator(".run")).to_have_attribute("data-outcome", "completed")
        await expect(page.locator(".run")).to_have_count(1)
        await expect(page.locator(".answer-text")).to_have_count(1)
        await expect(page.locator(".days")).to_have_count(1)
        await shot(page, "web-after-reload")


async def test_script_markup_and_javascript_links_render_as_text(tmp_path: Path) -> None:
    dialogs: list[str] = []
    async with web_stack(tmp_path) as web, chromium() as browser:
        page = await browser.new_page()

        async def dismiss(dialog: Dialog) -> None:
            dialogs.append(dialog.message)
            await dialog.dismiss()

        page.on("dialog", dismiss)
        await page.goto(web.url)
        await expect(page.locator("#connection")).to_have_attribute("data-state", "live")
        for text in XSS:
            await ask(page, text)
            await expect(page.locator(".bubble.user").last).to_have_text(text)
        await expect(page.locator(".answer-text")).to_have_count(len(XSS), timeout=20_000)
        await expect(page.locator(".bubble.user")).to_have_text(list(XSS))
        await shot(page, "web-xss")
        injected = await page.locator("img[src=x], script:not([src]), a[href^='javascript']").count()
    assert dialogs == []
    assert injected == 0


def model_plan_with_markup() -> str:
    """A model's plan whose every text field carries markup: titles, sights, notes, summary and tips."""
    names = [[XSS[0], "Gion"], [XSS[1], "Kiyomizu-dera"], ["Kinkaku-ji", "Nishiki Market"]]
    return json.dumps({
        "destination": "Kyoto", "summary": f"Enjoy {XSS[2]} and **Kyoto**.",
        "tips": [XSS[1], "[y](javascript:alert(2))"],
        "days": [{"date": f"2026-12-0{5 + i}", "title": f"Kyoto day {i + 1} {XSS[i]}",
                  "notes": "Plan B if it rains: Kyoto National Museum.",
                  "activities": [{"time": f"{9 + 3 * j:02d}:00", "name": name, "indoor": False, "duration_hours": 2,
                                  "kind": "sight"} for j, name in enumerate(day)]}
                 for i, day in enumerate(names)]})


async def test_a_model_answer_full_of_markup_renders_as_text_in_cards_and_in_the_text(tmp_path: Path) -> None:
    dialogs: list[str] = []
    async with FakeOpenAI(api_key="sk-test") as model:
        reading = trip_reading(destinations=[{"name": "Kyoto", "days": 3}], date_words="from Dec 5")
        plan = model_plan_with_markup()
        model.script(completion(reading), completion(plan), completion(plan))
        core = {"openai_base_url": model.base_url, "openai_api_key": "sk-test"}
        async with web_stack(tmp_path, core=core) as web, chromium() as browser:
            page = await browser.new_page()

            async def dismiss(dialog: Dialog) -> None:
                dialogs.append(dialog.message)
                await dialog.dismiss()

            page.on("dialog", dismiss)
            await page.goto(web.url)
            await expect(page.locator("#connection")).to_have_attribute("data-state", "live")
            await ask(page, "3 days in Kyoto from Dec 5")
            await expect(page.locator(".day-card")).to_have_count(3, timeout=20_000)
            await page.locator("details.full-text summary").click()
            cards = " ".join(await page.locator(".day-card").all_text_contents())
            text = await page.locator(".answer-text").text_content() or ""
            await shot(page, "web-model-markup")
            injected = await page.locator("img[src=x], script:not([src]), a[href^='javascript']").count()
    assert dialogs == [] and injected == 0
    assert XSS[0] in cards and XSS[1] in cards  # the model's sight names, shown as typed
    assert "javascript:alert" in text  # the link is text, not a link


async def test_an_english_request_reads_at_once_then_shows_english_card_words(tmp_path: Path) -> None:
    async with FakeOpenAI(api_key="sk-test") as model:
        reading = trip_reading(destinations=[{"name": "Kyoto", "days": 3}], date_words="from Dec 5")
        plan = model_plan_with_markup()
        model.script(completion(reading), completion(plan), completion(plan))
        model.gate.clear()  # the model reads the request only once the page has shown it is reading
        core = {"openai_base_url": model.base_url, "openai_api_key": "sk-test"}
        async with web_stack(tmp_path, core=core) as web, chromium() as browser:
            page = await browser.new_page(locale="en-GB")
            await page.goto(web.url)
            await expect(page.locator("#connection")).to_have_text("live")
            await expect(page.locator("#send")).to_have_text("Send")
            await ask(page, "3 days in Kyoto from Dec 5")
            await expect(page.locator(".bubble .reading")).to_have_text("Reading your request…")
            await model.arrived.wait()
            model.gate.set()
            run = page.locator(".run")
            await expect(run.locator(".day-card")).to_have_count(3, timeout=20_000)
            await expect(run.locator(".reading")).to_have_count(0)  # the steps replaced it
            await expect(page.locator(".bubble.pending")).to_have_count(0)
            en = card_words(Language.EN)
            conditions = await run.locator(".weather .condition").all_text_contents()
            assert conditions and set(conditions) <= set(en.conditions.values())
            assert set(await run.locator(".weather .label").all_text_contents()) <= set(en.sources.values())
            rain = await run.locator(".rain-chance").all_text_contents()
            assert all(re.fullmatch(r"rain \d+%", text) for text in rain)
            assert set(await run.locator(".mark.outdoor").all_text_contents()) == {"🌳 outdoor"}
            await expect(run.locator(".step .elapsed").first).to_contain_text("took")
            await expect(run.locator("details.full-text summary")).to_have_text("Full text")
            await expect(run.locator(".chart-legend")).to_contain_text("high °C")
            shown = await run.evaluate("node => node.innerText")
            await shot(page, "web-english")
    assert not re.search(r"[降雨晴阴室户内外用时]", shown)


async def test_a_phone_shows_one_column_and_nothing_wider_than_the_screen(tmp_path: Path) -> None:
    async with web_stack(tmp_path) as web, chromium() as browser:
        page = await browser.new_page(viewport={"width": 375, "height": 812}, device_scale_factor=2, is_mobile=True,
                                      has_touch=True)
        await page.goto(web.url)
        await expect(page.locator("#connection")).to_have_attribute("data-state", "live")
        await ask(page, REFERENCE)
        cards = page.locator(".day-card")
        await expect(cards).to_have_count(5, timeout=20_000)
        await expect(page.locator(".run")).to_have_attribute("data-outcome", "completed")
        lefts = await cards.evaluate_all("cards => cards.map(c => Math.round(c.getBoundingClientRect().left))")
        assert len(set(lefts)) == 1  # stacked: every card starts at the same x
        assert await page.evaluate("document.documentElement.scrollWidth <= innerWidth")
        widest = await page.evaluate("Math.max(...[...document.querySelectorAll('body *')]"
                                     ".map(n => n.getBoundingClientRect().right))")
        assert widest <= 375
        await shot(page, "web-phone")
        await page.locator(".run-head a").click()
        await expect(page.locator(".trace .hop").first).to_be_visible()
        assert await page.evaluate("document.documentElement.scrollWidth <= innerWidth")
        await shot(page, "web-phone-trace")
