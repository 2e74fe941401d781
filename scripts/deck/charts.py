"""The pipeline's numbers drawn natively at the slide's size: bar charts (text from 14 pt, the plot area placed
for LibreOffice), and the visuals made of them: the hue of the data, FID and KID per run, and the champion's
key numbers beside its references in a table."""

from __future__ import annotations

import numpy as np
from pptx.chart.data import CategoryChartData
from pptx.dml.color import RGBColor
from pptx.enum.chart import XL_CHART_TYPE, XL_LABEL_POSITION, XL_TICK_LABEL_POSITION
from pptx.enum.text import MSO_ANCHOR
from pptx.oxml.ns import qn
from pptx.util import Inches, Pt

from chromatic_charm import analysis, story

from .design import ACCENT, CARD, FONT, INK, LABEL_PT, SOFT, TEXT, WHITE, Box, rgb
from .outputs import Context
from .shapes import add_node, fill_frame, style_run


# --- charts -------------------------------------------------------------------------------------------------
def _chart_text(chart, title: str | None):
    chart.font.name, chart.font.size, chart.font.color.rgb = FONT, Pt(LABEL_PT), TEXT
    chart.has_title = bool(title)
    if title:
        frame = chart.chart_title.text_frame
        frame.text = title
        style_run(frame.paragraphs[0].runs[0], LABEL_PT + 2, bold=True, color=INK)


def _axis(axis, size: float = LABEL_PT, title: str | None = None, gridlines: bool = False,
          number_format: str | None = None):
    axis.tick_labels.font.size, axis.tick_labels.font.name = Pt(size), FONT
    axis.has_major_gridlines = gridlines
    if gridlines:
        axis.major_gridlines.format.line.color.rgb = RGBColor(0xDD, 0xDA, 0xE3)
    if number_format:
        axis.tick_labels.number_format, axis.tick_labels.number_format_is_linked = number_format, False
    if title:
        axis.has_title = True
        axis.axis_title.text_frame.text = title
        style_run(axis.axis_title.text_frame.paragraphs[0].runs[0], size)
    axis.format.line.color.rgb = SOFT


def _bar_chart(shapes, box: Box, categories, values, colours, title: str, number_format: str,
               horizontal: bool = True, value_title: str | None = None):
    data = CategoryChartData(number_format=number_format)
    data.categories = categories
    data.add_series(title, [float(v) for v in values])
    kind = XL_CHART_TYPE.BAR_CLUSTERED if horizontal else XL_CHART_TYPE.COLUMN_CLUSTERED
    frame = shapes.add_chart(kind, box.left, box.top, box.width, box.height, data)
    frame.name = f"Visual: gráfica {title}"
    chart = frame.chart
    _chart_text(chart, title)
    chart.has_legend = False
    plot = chart.plots[0]
    plot.gap_width, plot.vary_by_categories = 45, False
    plot.has_data_labels = True
    labels = plot.data_labels
    labels.font.size, labels.font.name, labels.number_format_is_linked = Pt(LABEL_PT), FONT, False
    labels.number_format, labels.position = number_format, XL_LABEL_POSITION.OUTSIDE_END
    for point, colour in zip(plot.series[0].points, colours):
        point.format.fill.solid()
        point.format.fill.fore_color.rgb = colour
    _axis(chart.category_axis)
    chart.category_axis.reverse_order = horizontal  # the first category on top
    _axis(chart.value_axis, title=value_title, number_format=number_format)
    chart.value_axis.visible = not horizontal
    chart.value_axis.maximum_scale = float(max(values)) * (1.3 if horizontal else 1.18)
    chart.value_axis.minimum_scale = 0.0
    if horizontal:
        chart.value_axis.tick_label_position = XL_TICK_LABEL_POSITION.NONE
    return chart


def _plot_layout(chart, width: float, height: float):
    """The plot area placed explicitly (LibreOffice's automatic layout squeezes it): room for the
    title above, the value labels on the left, the tick labels and the axis title below."""
    x, y = 0.85 / width, 0.45 / height
    layout = chart._chartSpace.chart.plotArea.find(qn("c:layout"))
    if layout is None:
        layout = chart._chartSpace.chart.plotArea.makeelement(qn("c:layout"), {})
        chart._chartSpace.chart.plotArea.insert(0, layout)
    manual = layout.makeelement(qn("c:manualLayout"), {})
    for tag, value in (("layoutTarget", "inner"), ("xMode", "edge"), ("yMode", "edge"), ("x", x), ("y", y),
                       ("w", 1 - x - 0.25 / width), ("h", 1 - y - 0.7 / height)):
        manual.append(manual.makeelement(qn(f"c:{tag}"), {"val": value if isinstance(value, str) else f"{value:.4f}"}))
    layout.append(manual)


def _nice(value: float, up: bool) -> float:
    """``value`` rounded outwards to two significant digits, for an axis' end."""
    if value == 0:
        return 0.0
    step = 10 ** (np.floor(np.log10(abs(value))) - 1) * 2
    return float((np.ceil if up else np.floor)(value / step) * step)


# --- the visuals made of them ------------------------------------------------------------------------------
def _run_label(run) -> str:
    """The sweep item in few words: 'λ 100', 'semilla 1' (at the default rates), else 'G 1e-4 / D 3e-4'."""
    name = run.run.removeprefix("pipeline-")
    rates, _, variant = name.partition("_lrD")[2].partition("_")
    if variant:
        return variant.replace("lambda", "λ ").replace("seed", "semilla ")
    return f"G {name.partition('_')[0].removeprefix('lrG')} / D {rates}"


def visual_eda(slide, box: Box, ctx: Context) -> bool:
    data = ctx.outputs.data
    counts, edges, _ = analysis.hue_histogram(data, "train", bins=36)
    shares = analysis.hue_shares(counts, edges)
    low = analysis.chroma_shares(data, "train", (10, 20))  # pixel by pixel: the report's and the EDA's numbers
    hue_angle = {"red and orange": 40, "yellow": 90, "green": 150, "cyan": 215, "blue": 270, "magenta and purple": 335}
    names = {f: (story.HUE_NAMES[f].replace(" y morado", "\ny morado").replace(" y naranja", "\ny naranja"), angle)
             for f, angle in hue_angle.items()}
    families = [f for f in names if f in shares]
    colours = [rgb(analysis.hue_colours(np.array([names[f][1] - 1.0, names[f][1] + 1.0]), 60.0, 55.0)[0])
               for f in families]
    chart_box, tiles = box.rows(72, 28, gap=Inches(0.25))
    _bar_chart(slide.shapes, chart_box, [names[f][0] for f in families], [shares[f] for f in families], colours,
               "Tono de los píxeles con color (croma ≥ 10)", "0%", horizontal=False)
    for tile, radius in zip(tiles.cols(1, 1, gap=Inches(0.3)), (10, 20)):
        add_node(slide.shapes, tile, [(story.percent(low[radius]), LABEL_PT + 14, True, ACCENT),
                                      (f"de los píxeles con croma < {radius}", LABEL_PT + 2, False, TEXT)],
                 fill=CARD).name = "Visual: cifra"
    return True


def visual_selection(slide, box: Box, ctx: Context) -> bool:
    runs, m, results = ctx.outputs.runs, ctx.outputs.champion_metrics, ctx.outputs.results
    champion = results["champion"]["run_id"]
    labels = [_run_label(r) for r in runs.itertuples()]
    colours = [ACCENT if r.run_id == champion else RGBColor(0x7D, 0x74, 0x96) for r in runs.itertuples()]
    fid, kid = list(runs["fid"]), list(runs["kid"])
    for baseline in results["baselines"].values():
        labels.append("sólo L1 (referencia)")
        fid.append(baseline["metrics"]["test_fid"])
        kid.append(baseline["metrics"]["test_kid"])
        colours.append(SOFT)
    labels.append("entrada en gris")
    fid.append(m["test_fid_baseline_gray"])
    kid.append(m["test_kid_baseline_gray"])
    colours.append(RGBColor(0xA0, 0xA0, 0xA6))
    n = int(m["test_images"])
    left, right = box.cols(1, 1, gap=Inches(0.2))  # side by side: every run's label fits at 14 pt
    _bar_chart(slide.shapes, left, labels, fid, colours, f"FID (menor es mejor), N = {n}", "0.0")
    _bar_chart(slide.shapes, right, labels, kid, colours, "KID (menor es mejor)", "0.0000")
    return True


def visual_conclusions(slide, box: Box, ctx: Context) -> bool:
    """The champion beside its two references, the L1-only run it started from and the grayscale input."""
    m = ctx.outputs.champion_metrics
    l1 = next(iter(ctx.outputs.results["baselines"].values()), {}).get("metrics", {})
    at = lambda values, key, d: f"{values[key]:.{d}f}" if key in values else "—"  # noqa: E731
    rows = [("Métrica", "Campeón", "Sólo L1", "Entrada en gris"),
            ("FID (menor es mejor)", at(m, "test_fid", 1), at(l1, "test_fid", 1), at(m, "test_fid_baseline_gray", 1)),
            ("KID (menor es mejor)", at(m, "test_kid", 4), at(l1, "test_kid", 4), at(m, "test_kid_baseline_gray", 4)),
            ("CIEDE2000 (menor es mejor)", at(m, "test_ciede2000", 2), at(l1, "test_ciede2000", 2), at(m, "test_ciede2000_gray", 2)),
            (f"Colorido (fotos reales: {m['test_colourfulness_real']:.1f})", at(m, "test_colourfulness", 1),
             at(l1, "test_colourfulness", 1), "0.0")]
    row_h = Inches(0.75)
    height = row_h * len(rows)
    frame = slide.shapes.add_table(len(rows), 4, box.left, box.top + (box.height - height) // 2, box.width, height)
    frame.name = "Visual: tabla de cifras"
    table = frame.table
    for c, width in enumerate((0.4, 0.2, 0.2, 0.2)):
        table.columns[c].width = int(box.width * width)
    for r, values in enumerate(rows):
        table.rows[r].height = row_h
        for c, value in enumerate(values):
            cell = table.cell(r, c)
            cell.fill.solid()
            cell.fill.fore_color.rgb = INK if r == 0 else (CARD if r % 2 else WHITE)
            cell.vertical_anchor = MSO_ANCHOR.MIDDLE
            colour = WHITE if r == 0 else (ACCENT if c == 1 else TEXT)
            fill_frame(cell.text_frame, [value], LABEL_PT + 2, bold=r == 0 or c == 1, color=colour,
                       anchor=MSO_ANCHOR.MIDDLE, margin=Inches(0.08))
    return True
