"""The pipeline's numbers drawn natively at the slide's size: bar charts (text from 14 pt, the plot area placed
for LibreOffice), and the visuals made of them: the hue of the data, FID and KID per run, and the champion's
key numbers beside its references in a table."""

from __future__ import annotations

import numpy as np
from pptx.chart.data import CategoryChartData
from pptx.dml.color import RGBColor
from pptx.enum.chart import XL_CHART_TYPE, XL_LABEL_POSITION, XL_TICK_LABEL_POSITION
from pptx.enum.text import MSO_ANCHOR, PP_ALIGN
from pptx.oxml.ns import qn
from pptx.util import Inches, Pt

from chromatic_charm import analysis, story

from .design import ACCENT, CARD, FONT, INK, LABEL_PT, MUTED, SOFT, TEXT, WHITE, Box, rgb
from .layout import LINE, lines_needed, text_width
from .outputs import Context
from .shapes import add_node, add_text, fill_frame, style_run


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
    if horizontal:  # every row named: LibreOffice would skip every other label of a crowded axis
        axis = chart.category_axis._element
        skip = axis.find(qn("c:tickLblSkip"))
        if skip is None:  # in the schema's order: before tickMarkSkip, noMultiLvlLbl and extLst
            skip = axis.makeelement(qn("c:tickLblSkip"), {})
            after = next((e for e in axis if e.tag in {qn(t) for t in ("c:tickMarkSkip", "c:noMultiLvlLbl", "c:extLst")}),
                         None)
            axis.insert(list(axis).index(after), skip) if after is not None else axis.append(skip)
        skip.set("val", "1")
    if len(categories) > 12:  # many rows in a slide's room: smaller labels, so that no row loses its name
        chart.category_axis.tick_labels.font.size = Pt(LABEL_PT - 3)
        labels.font.size = Pt(LABEL_PT - 3)
    return chart


def _plot_layout(chart, box: Box, left: int, top: int = Inches(0.5), right: int = Inches(0.1),
                 bottom: int = Inches(0.05)):
    """The plot area (the bars, without their tick labels) placed explicitly at ``left``, ``top``, ``right``
    and ``bottom`` (EMU) from the chart's edges: room for the category labels on one line and the title,
    and the same rows in two charts laid out alike (LibreOffice's automatic layout squeezes the labels)."""
    x, y = left / box.width, top / box.height
    w, h = 1 - x - right / box.width, 1 - y - bottom / box.height
    plot_area = chart._chartSpace.chart.plotArea
    layout = plot_area.find(qn("c:layout"))
    if layout is None:
        layout = plot_area.makeelement(qn("c:layout"), {})
        plot_area.insert(0, layout)
    for old in layout.findall(qn("c:manualLayout")):
        layout.remove(old)
    manual = layout.makeelement(qn("c:manualLayout"), {})
    for tag, value in (("layoutTarget", "inner"), ("xMode", "edge"), ("yMode", "edge"), ("x", x), ("y", y),
                       ("w", w), ("h", h)):
        manual.append(manual.makeelement(qn(f"c:{tag}"), {"val": value if isinstance(value, str) else f"{value:.4f}"}))
    layout.append(manual)


def _label_every_category(chart):
    """Every category's label shown (tickLblSkip 1): PowerPoint and LibreOffice otherwise drop every other
    label of a crowded axis."""
    axis = chart._chartSpace.chart.plotArea.find(qn("c:catAx"))
    for old in axis.findall(qn("c:tickLblSkip")):
        axis.remove(old)
    skip = axis.makeelement(qn("c:tickLblSkip"), {"val": "1"})
    after = [axis.find(qn(f"c:{tag}")) for tag in ("lblOffset", "lblAlgn", "auto", "crosses", "crossAx")]
    anchor = next((a for a in after if a is not None), None)
    if anchor is not None:
        anchor.addnext(skip)
    else:
        axis.append(skip)


def _nice(value: float, up: bool) -> float:
    """``value`` rounded outwards to two significant digits, for an axis' end."""
    if value == 0:
        return 0.0
    step = 10 ** (np.floor(np.log10(abs(value))) - 1) * 2
    return float((np.ceil if up else np.floor)(value / step) * step)


# --- the visuals made of them ------------------------------------------------------------------------------
def _sweep_item(name: str) -> tuple[str, str]:
    """A run's name cut into its rates and its variant: 'pipeline-lrG2e-4_lrD2e-4_lambda100' ->
    ('2e-4 / 2e-4', 'lambda100'); ('1e-4 / 3e-4', '') for a pair of rates alone."""
    first, _, rest = name.removeprefix("pipeline-").partition("_lrD")
    rates, _, variant = rest.partition("_")
    return f"{first.removeprefix('lrG')} / {rates}", variant


def _run_label(run, base_rates: str | None = None) -> str:
    """The sweep item in few words, on one line: 'λ 100', 'semilla 1' (variants of the base recipe), the base
    recipe itself 'base (semilla 0)', else its rates 'G 1e-4 / D 3e-4', and both 'G 1e-4 / D 3e-4, λ 300'."""
    rates, variant = _sweep_item(run.run)
    g, d = rates.split(" / ")
    if variant:  # a variant of the base recipe; with other rates too, both (no two runs share a label)
        label = variant.replace("lambda", "λ ").replace("seed", "semilla ")
        return label if base_rates is None or rates == base_rates else f"G {g} / D {d}, {label}"
    return "base (semilla 0)" if rates == base_rates else f"G {g} / D {d}"


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


def _base_rates(names) -> str | None:
    """The base recipe's rates: the pair most of the sweep's variants (other λ, other seeds) are run at."""
    from collections import Counter

    pairs = Counter(rates for rates, variant in map(_sweep_item, names) if variant).most_common(2)
    return pairs[0][0] if pairs and (len(pairs) == 1 or pairs[0][1] > pairs[1][1]) else None


def visual_selection(slide, box: Box, ctx: Context) -> bool:
    """FID and KID of every run and of the two references, one bar a row, every row labelled once (on the
    FID chart; the KID chart beside it has the same rows), and what N is under them."""
    runs, m, results = ctx.outputs.runs, ctx.outputs.champion_metrics, ctx.outputs.results
    chosen_by = results["champion"].get("metric", "test_fid")
    order = chosen_by.removeprefix("test_") if chosen_by.startswith("test_") else chosen_by
    if order in runs and runs[order].notna().all():  # the rows in the order of the choice (val_fid in the pipeline)
        runs = runs.sort_values(order, kind="stable").reset_index(drop=True)
    champion = results["champion"]["run_id"]
    base = _base_rates(runs["run"])
    labels = [_run_label(r, base) for r in runs.itertuples()]
    colours = [ACCENT if r.run_id == champion else RGBColor(0x7D, 0x74, 0x96) for r in runs.itertuples()]
    fid, kid = list(runs["fid"]), list(runs["kid"])
    for baseline in results["baselines"].values():
        labels.append("solo L1 (referencia)")
        fid.append(baseline["metrics"]["test_fid"])
        kid.append(baseline["metrics"]["test_kid"])
        colours.append(SOFT)
    for control in results.get("controls", {}).values():  # solo L1 as long as the adversarial runs: their control
        labels.append("control (solo L1)")
        fid.append(control["metrics"]["test_fid"])
        kid.append(control["metrics"]["test_kid"])
        colours.append(SOFT)
    labels.append("entrada en gris")
    fid.append(m["test_fid_baseline_gray"])
    kid.append(m["test_kid_baseline_gray"])
    colours.append(RGBColor(0xA0, 0xA0, 0xA6))
    photos, crops = int(m["test_photos"]), int(m["test_crops"])
    caption = (f"N = {photos} fotos de prueba × {crops} vistas = {photos * crops}, las mismas en cada corrida"
               + ("; filas en el orden de la elección (FID de validación)." if chosen_by == "val_fid"
                  else ": con un N tan pequeño, el FID solo se compara entre estas corridas."))
    caption_h = Inches(0.15) + int(Pt(lines_needed(caption, box.width - Inches(0.2), LABEL_PT) * LABEL_PT * LINE).emu)
    charts = Box(box.left, box.top, box.width, box.height - caption_h)
    label_w = Inches(0.3) + int(Pt(max(text_width(label, LABEL_PT) for label in labels)).emu)
    gap = Inches(0.2)
    bars = (charts.width - gap - label_w) // 2
    left, right = charts.cols(label_w + bars, bars, gap=gap)
    top = Inches(0.5)
    for part, values, title, fmt, margin in ((left, fid, "FID de prueba (menor es mejor)", "0.0", label_w),
                                             (right, kid, "KID de prueba (menor es mejor)", "0.0000", Inches(0.1))):
        chart = _bar_chart(slide.shapes, part, labels, values, colours, title, fmt)
        _label_every_category(chart)
        _plot_layout(chart, part, left=margin, top=top)
        if part is right:  # the rows are the FID chart's: labelled once, on the left
            chart.category_axis.tick_label_position = XL_TICK_LABEL_POSITION.NONE
    add_text(slide.shapes, Box(box.left, charts.bottom, box.width, caption_h), [caption], LABEL_PT, color=MUTED,
             align=PP_ALIGN.CENTER, anchor=MSO_ANCHOR.MIDDLE, name="Visual: qué es N")
    return True


def _best(values: list[float | None], target: float | None = None) -> int | None:
    """The column of a row's best value: the lowest, or the closest to ``target``; None without values."""
    known = [(abs(v - target) if target is not None else v, i) for i, v in enumerate(values) if v is not None]
    return min(known)[1] if known else None


def visual_conclusions(slide, box: Box, ctx: Context) -> bool:
    """The champion beside its two references, the L1-only run it started from and the grayscale input; the
    best value of each row highlighted (the lowest; for colourfulness the closest to the real photos')."""
    m = ctx.outputs.champion_metrics
    l1 = next(iter(ctx.outputs.results["baselines"].values()), {}).get("metrics", {})
    control = next(iter(ctx.outputs.results.get("controls", {}).values()), {}).get("metrics")
    gan_epochs = ctx.outputs.results["params"]["gan"]["epochs"]
    real = m.get("test_colourfulness_real")
    measures = [("FID ↓", "test_fid", "test_fid_baseline_gray", 1, None),
                ("KID ↓", "test_kid", "test_kid_baseline_gray", 4, None),
                ("CIEDE2000 ↓", "test_ciede2000", "test_ciede2000_gray", 2, None),
                (f"Colorido (real: {real:.1f})" if real is not None else "Colorido", "test_colourfulness", None, 1, real)]
    # the champion, the L1-only run it started from, that run trained on as long on L1 alone (the control of the
    # adversarial phase, where the pipeline has it) and the grayscale input
    columns = [("Campeón", m), ("Solo L1", l1)] + ([("Control L1", control)] if control else [])
    rows, best = [("Métrica", *(name for name, _ in columns), "Gris")], [None]
    for label, key, gray_key, digits, target in measures:
        values = [source.get(key) for _, source in columns] + [m.get(gray_key) if gray_key else 0.0]  # gray: no colour
        rows.append((label, *(f"{v:.{digits}f}" if v is not None else "—" for v in values)))
        best.append(_best(values, target))
    row_h, caption_h = Inches(0.75), Inches(0.95)  # the caption: three lines of LABEL_PT
    height = row_h * len(rows)
    top = box.top + (box.height - height - caption_h) // 2
    frame = slide.shapes.add_table(len(rows), len(rows[0]), box.left, top, box.width, height)
    frame.name = "Visual: tabla de cifras"
    table = frame.table
    others = (1 - 0.24) / (len(rows[0]) - 1)
    for c, width in enumerate((0.24, *[others] * (len(rows[0]) - 1))):
        table.columns[c].width = int(box.width * width)
    for r, values in enumerate(rows):
        table.rows[r].height = row_h
        for c, value in enumerate(values):
            cell = table.cell(r, c)
            cell.fill.solid()
            cell.fill.fore_color.rgb = INK if r == 0 else (CARD if r % 2 else WHITE)
            cell.vertical_anchor = MSO_ANCHOR.MIDDLE
            best_here = r > 0 and best[r] is not None and c == best[r] + 1
            colour = WHITE if r == 0 else (ACCENT if best_here else TEXT)
            fill_frame(cell.text_frame, [value], LABEL_PT + (2 if r else 0), bold=r == 0 or best_here, color=colour,
                       anchor=MSO_ANCHOR.MIDDLE, margin=Inches(0.08))
    add_text(slide.shapes, Box(box.left, top + height, box.width, caption_h),
             ["↓: menor es mejor; colorido: el más cercano al real. En negrita morada, el mejor de cada fila, no una diferencia "
              "demostrada (las notas dicen cuáles lo son)."
              + (f" Control L1: solo L1, {gan_epochs} épocas más, como la fase adversarial." if control else "")],
             LABEL_PT, color=MUTED,
             anchor=MSO_ANCHOR.MIDDLE, name="Visual: leyenda de la tabla")
    return True
