"""The check-up report as a PDF (财富体检报告), with an allocation pie and a target bar chart.

ReportLab's built-in CID font STSong-Light renders Chinese without shipping a font file.
"""

from __future__ import annotations

from io import BytesIO

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.piecharts import Pie
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from zhangyin.money import format_minor
from zhangyin.wealth.checkup import CheckupReport

FONT = "STSong-Light"
CLASS_NAMES = {
    "cash": ("现金类", "Cash"),
    "deposit": ("存款", "Deposits"),
    "fixed_income": ("固收类", "Fixed income"),
    "equity": ("权益类", "Equity"),
}
PALETTE = [colors.HexColor(c) for c in ("#c8102e", "#f2a900", "#3c8dbc", "#5b9e4d")]


def _font() -> str:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return FONT


def _pct(bp: int) -> str:
    return f"{bp / 100:.1f}%"


def render(report: CheckupReport, customer_name: str, language: str = "zh-CN") -> bytes:
    font = _font()
    zh = language != "en-US"
    title = ParagraphStyle("title", fontName=font, fontSize=18, leading=24)
    heading = ParagraphStyle("heading", fontName=font, fontSize=13, leading=18, spaceBefore=8)
    body = ParagraphStyle("body", fontName=font, fontSize=10, leading=15)
    buffer = BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, title="Wealth check-up", author="Zhangyin")
    story: list[object] = [
        Paragraph("财富体检报告" if zh else "Wealth check-up", title),
        Paragraph(
            f"{customer_name} · {report.as_of.isoformat()} · "
            + (f"综合得分 {report.score}" if zh else f"Score {report.score}"),
            body,
        ),
        Spacer(1, 4 * mm),
        Paragraph(
            (f"金融资产合计 {format_minor(report.total_minor, 'CNY')} 元")
            if zh
            else f"Financial assets {format_minor(report.total_minor, 'CNY')} CNY",
            body,
        ),
    ]
    pie = Drawing(170 * mm, 60 * mm)
    chart = Pie()
    chart.x, chart.y, chart.width, chart.height = 10 * mm, 5 * mm, 50 * mm, 50 * mm
    lines = [line for line in report.allocation if line.value_minor > 0]
    chart.data = [line.value_minor for line in lines] or [1]
    chart.labels = [
        f"{CLASS_NAMES[line.asset_class][0 if zh else 1]} {_pct(line.share_bp)}" for line in lines
    ] or ["-"]
    chart.sideLabels = True
    chart.simpleLabels = True
    for index in range(len(chart.data)):
        chart.slices[index].fillColor = PALETTE[index % len(PALETTE)]
        chart.slices[index].fontName = font
    pie.add(chart)
    bars = VerticalBarChart()
    bars.x, bars.y, bars.width, bars.height = 95 * mm, 8 * mm, 70 * mm, 45 * mm
    bars.data = [
        [line.share_bp / 100 for line in report.allocation],
        [line.target_bp / 100 for line in report.allocation],
    ]
    bars.categoryAxis.categoryNames = [
        CLASS_NAMES[line.asset_class][0 if zh else 1] for line in report.allocation
    ]
    bars.categoryAxis.labels.fontName = font
    bars.valueAxis.valueMin = 0
    bars.bars[0].fillColor = PALETTE[0]
    bars.bars[1].fillColor = colors.lightgrey
    pie.add(bars)
    pie.add(
        String(95 * mm, 56 * mm, "实际 / 目标 (%)" if zh else "Actual / target (%)", fontName=font)
    )
    story += [Paragraph("资产配置" if zh else "Allocation", heading), pie]
    rows = [
        ["类别", "金额", "占比", "目标", "偏离"]
        if zh
        else ["Class", "Value", "Share", "Target", "Gap"]
    ]
    for line in report.allocation:
        rows.append(
            [
                CLASS_NAMES[line.asset_class][0 if zh else 1],
                format_minor(line.value_minor, "CNY"),
                _pct(line.share_bp),
                _pct(line.target_bp),
                _pct(line.deviation_bp),
            ]
        )
    table = Table(rows, hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), font),
                ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
            ]
        )
    )
    story.append(table)
    months = f"{report.months_covered_e1 / 10:.1f}" if report.months_covered_e1 is not None else "-"
    facts = (
        [
            f"流动性：流动资产可覆盖 {months} 个月支出（月均支出 "
            f"{format_minor(report.monthly_spending_minor, 'CNY')} 元）",
            f"闲置资金：{format_minor(report.idle_cash_minor, 'CNY')} 元",
            f"集中度：最大单一持仓 {report.largest_position or '-'} "
            f"占 {_pct(report.largest_share_bp)}",
            f"30 天内到期：{len(report.maturing)} 项",
        ]
        if zh
        else [
            f"Liquidity: liquid assets cover {months} months of spending "
            f"({format_minor(report.monthly_spending_minor, 'CNY')} CNY a month)",
            f"Idle cash: {format_minor(report.idle_cash_minor, 'CNY')} CNY",
            f"Concentration: largest holding {report.largest_position or '-'} at "
            f"{_pct(report.largest_share_bp)}",
            f"Maturing within 30 days: {len(report.maturing)}",
        ]
    )
    story.append(Paragraph("诊断" if zh else "Findings", heading))
    story += [Paragraph(fact, body) for fact in facts]
    story.append(Paragraph("建议" if zh else "Suggestions", heading))
    for number, s in enumerate(report.suggestions, 1):
        story.append(
            Paragraph(
                f"{number}. {s.title_zh if zh else s.title_en}：{s.detail_zh}"
                if zh
                else f"{number}. {s.title_en}: {s.detail_en}",
                body,
            )
        )
    story += [
        Spacer(1, 6 * mm),
        Paragraph(
            "本报告基于您在本行的持仓与交易数据自动生成，仅供参考，不构成投资建议。理财非存款，产品有风险，投资须谨慎。"
            if zh
            else "Generated from your holdings and transactions at this bank, for information "
            "only; not investment advice. Wealth products are not deposits and carry risk.",
            body,
        ),
    ]
    doc.build(story)
    return buffer.getvalue()
