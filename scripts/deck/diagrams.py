"""Diagrams drawn with shapes, grouped so that each is one visual: the hue ring (the deck's emblem), the
earlier attempts, the objectives, the U-Net and conditional PatchGAN, the cleaning waterfall, the DVC
pipeline from the raw photos to the API, the container, the deployment and the references' time line."""

from __future__ import annotations

import numpy as np
from pptx.dml.color import RGBColor
from pptx.enum.shapes import MSO_SHAPE
from pptx.enum.text import MSO_ANCHOR, PP_ALIGN
from pptx.util import Emu, Inches

from .design import ACCENT, CARD, HUES, INK, LABEL_PT, MUTED, SOFT, TEXT, WHITE, Box
from .layout import lines_needed
from .outputs import Context
from .shapes import add_arrow, add_group, add_node, add_rect, add_text


def hue_ring(shapes, box: Box, label: str = "L*a*b*"):
    """The deck's emblem: twelve hues around a grey centre, the colour the model adds to a grey photo."""
    side = min(box.width, box.height)
    cx, cy = box.left + box.width // 2, box.top + box.height // 2
    dot, radius = int(side * 0.17), int(side * 0.38)
    for k, colour in enumerate(HUES):
        angle = np.radians(90 - 30 * k)
        x, y = cx + int(radius * np.cos(angle)) - dot // 2, cy - int(radius * np.sin(angle)) - dot // 2
        add_rect(shapes, Box(x, y, dot, dot), colour, kind=MSO_SHAPE.OVAL)
    inner = int(side * 0.42)
    add_node(shapes, Box(cx - inner // 2, cy - inner // 2, inner, inner), [label], size=22, bold=True,
             fill=RGBColor(0x9A, 0x9A, 0xA2), color=WHITE, kind=MSO_SHAPE.OVAL)


def visual_background(slide, box: Box, ctx: Context) -> bool:
    steps = (("Autoencoder en RGB", "rehace el brillo; salidas borrosas y pardas", False),
             ("GAN anterior", "FID imposibles; D no ve la foto de entrada; salida por bloques", False),
             ("Este proyecto", "D condicional en L*a*b*; FID y KID correctos; salida del tamaño original", True))
    shapes = add_group(slide, "evolución")
    cards = box.inset(dy=Inches(0.2)).rows(1, 1, 1, gap=Inches(0.45))
    for (head, detail, ours), card in zip(steps, cards):
        colour = ACCENT if ours else MUTED
        add_node(shapes, card, [], fill=CARD if not ours else RGBColor(0xF1, 0xE6, 0xF8), line=colour)
        mark = Box(card.left + Inches(0.25), card.top + (card.height - Inches(0.8)) // 2, Inches(0.8), Inches(0.8))
        add_node(shapes, mark, ["✓" if ours else "✗"], size=28, bold=True, fill=colour, color=WHITE,
                 kind=MSO_SHAPE.OVAL)
        text = Box(mark.right + Inches(0.2), card.top, card.right - mark.right - Inches(0.35), card.height)
        add_node(shapes, text, [(head, LABEL_PT + 6, True, INK), (detail, LABEL_PT + 2, False, TEXT)], fill=None,
                 align=PP_ALIGN.LEFT)
    for upper, lower in zip(cards, cards[1:]):
        x = upper.left + upper.width // 2
        add_arrow(shapes, x, upper.bottom + Inches(0.05), x, lower.top - Inches(0.05), color=SOFT, width=3)
    return True


def visual_objectives(slide, box: Box, ctx: Context) -> bool:
    goals = (("Datos", "explorar, limpiar y versionar con DVC", MSO_SHAPE.CAN, HUES[4]),
             ("Modelo", "pix2pix en L*a*b*, cada corrida en MLflow", MSO_SHAPE.GEAR_6, HUES[8]),
             ("Selección", "barrer lr_G y lr_D, elegir por FID, exportar a ONNX", MSO_SHAPE.STAR_5_POINT, HUES[2]),
             ("Producción", "API Flask y gunicorn en Docker, lista para la nube", MSO_SHAPE.CLOUD, HUES[6]))
    shapes = add_group(slide, "objetivos")
    top, bottom = box.inset(dy=Inches(0.1)).rows(1, 1, gap=Inches(0.3))
    cells = [*top.cols(1, 1, gap=Inches(0.3)), *bottom.cols(1, 1, gap=Inches(0.3))]
    for (head, detail, icon, colour), cell in zip(goals, cells):
        add_node(shapes, cell, [], fill=CARD)
        add_rect(shapes, Box(cell.left + Inches(0.3), cell.top + Inches(0.3), Inches(0.9), Inches(0.9)), colour,
                 kind=icon)
        add_text(shapes, Box(cell.left + Inches(1.35), cell.top + Inches(0.3), cell.width - Inches(1.5), Inches(0.9)),
                 [head], LABEL_PT + 6, bold=True, color=INK, anchor=MSO_ANCHOR.MIDDLE)
        add_text(shapes, Box(cell.left + Inches(0.3), cell.top + Inches(1.35), cell.width - Inches(0.5),
                             cell.height - Inches(1.5)), [detail], LABEL_PT + 4)
    return True


def visual_gan(slide, box: Box, ctx: Context) -> bool:
    """The generator (a U-Net: encoder, bottleneck, decoder, skip connections) and the conditional PatchGAN
    discriminator, drawn on a 12.33 x 3.5 in plan scaled to ``box``."""
    shapes = add_group(slide, "U-Net y PatchGAN")
    sx, sy = box.width / Inches(12.33), min(box.height / Inches(3.5), 1.15)
    top = box.top + (box.height - int(Inches(3.5) * sy)) // 2

    def at(x: float, y: float, w: float, h: float) -> Box:  # inches on the plan -> the slide
        return Box(box.left + int(Inches(x) * sx), top + int(Inches(y) * sy), int(Inches(w) * sx), int(Inches(h) * sy))

    def arrow(a: Box, b: Box, y_a: float | None = None, y_b: float | None = None, **style):
        ya = a.top + a.height // 2 if y_a is None else top + int(Inches(y_a) * sy)
        yb = b.top + b.height // 2 if y_b is None else top + int(Inches(y_b) * sy)
        add_arrow(shapes, a.right + Inches(0.04), ya, b.left - Inches(0.04), yb, **style)

    params = ctx.outputs.results["params"] if ctx.outputs else {}
    encoder, lam = params.get("train", {}).get("encoder"), params.get("gan", {}).get("lambda_l1")
    gray, enc_colour, dec_colour = RGBColor(0x8C, 0x8C, 0x8C), RGBColor(0x5B, 0x4A, 0x8A), ACCENT
    add_text(shapes, at(0, 0, 7.4, 0.45), ["Generador G: U-Net"], LABEL_PT + 6, bold=True, color=INK)
    add_text(shapes, at(7.9, 0, 4.43, 0.45), ["Discriminador D: PatchGAN"], LABEL_PT + 4, bold=True, color=INK)
    # G: L* -> encoder (3 levels) -> bottleneck -> decoder -> a*b*, skip connections across
    y0 = 0.45
    l_in = at(0, y0 + 0.35, 0.95, 0.95)
    add_node(shapes, l_in, ["L*"], size=LABEL_PT + 6, bold=True, fill=gray, color=WHITE, kind=MSO_SHAPE.RECTANGLE)
    add_text(shapes, at(-0.25, y0 + 1.32, 1.45, 0.35), ["luminancia"], color=MUTED, align=PP_ALIGN.CENTER)
    centres, heights = (y0 + 0.82, y0 + 1.42, y0 + 1.93, y0 + 2.3), (1.4, 1.0, 0.7, 0.42)
    enc = [at(1.3 + 0.62 * i, centres[i] - heights[i] / 2, 0.4, heights[i]) for i in range(3)]
    neck = at(3.55, centres[3] - heights[3] / 2, 0.4, heights[3])
    dec = [at(5.8 - 0.62 * i, centres[i] - heights[i] / 2, 0.4, heights[i]) for i in range(3)]
    for block, colour in [*((b, enc_colour) for b in enc), (neck, INK), *((b, dec_colour) for b in dec)]:
        add_rect(shapes, block, colour, kind=MSO_SHAPE.ROUNDED_RECTANGLE)
    for a, b in zip([*enc, neck], [*enc[1:], neck]):
        add_arrow(shapes, a.right, a.bottom - Inches(0.08), b.left, b.top + Inches(0.08), width=2)
    for a, b in zip([neck, *dec[:0:-1]], dec[::-1]):
        add_arrow(shapes, a.right, a.top + Inches(0.08), b.left, b.bottom - Inches(0.08), width=2)
    for i in range(3):
        y = centres[i] - heights[i] / 4
        arrow(enc[i], dec[i], y, y, color=ACCENT, width=1.75, dashed=True)
    add_text(shapes, at(1.8, y0 + 0.05, 3.9, 0.38), ["conexiones de salto"], color=ACCENT, align=PP_ALIGN.CENTER)
    add_text(shapes, at(0, y0 + 2.6, 4.15, 0.4), ["codificador preentrenado (ImageNet)" if encoder else "codificador"],
             color=MUTED)
    add_text(shapes, at(4.2, y0 + 2.6, 3.2, 0.4), ["decodificador"], color=MUTED, align=PP_ALIGN.RIGHT)
    ab_out = at(6.5, y0 + 0.35, 0.95, 0.95)
    for quarter, colour in zip([c for row in ab_out.rows(1, 1) for c in row.cols(1, 1)], HUES[0:12:3]):
        add_rect(shapes, quarter, colour)
    add_node(shapes, ab_out, ["a*b*"], size=LABEL_PT + 6, bold=True, fill=None, color=WHITE, kind=MSO_SHAPE.RECTANGLE)
    add_text(shapes, at(6.25, y0 + 1.32, 1.45, 0.35), ["crominancia"], color=MUTED, align=PP_ALIGN.CENTER)
    arrow(l_in, enc[0], width=2.5)
    arrow(dec[0], ab_out, width=2.5)
    # D: the pair (L*, a*b*) -> convolutions -> one real/fake decision per patch
    pair_gray, pair_ab = at(8.0, y0 + 0.25, 0.85, 0.85), at(8.25, y0 + 0.5, 0.85, 0.85)
    add_rect(shapes, pair_gray, gray)
    for half, colour in zip(pair_ab.rows(1, 1), (HUES[2], HUES[8])):
        add_rect(shapes, half, colour)
    arrow(ab_out, pair_gray, y0 + 0.82, y0 + 0.82, width=2.5)
    add_text(shapes, at(7.6, y0 + 1.38, 2.0, 0.7), ["el par (L*, a*b*):", "D es condicional"], color=MUTED,
             align=PP_ALIGN.CENTER)
    convs = [at(9.45 + 0.45 * k, y0 + 0.82 - (1.0 - 0.2 * k) / 2, 0.3, 1.0 - 0.2 * k) for k in range(3)]
    for conv in convs:
        add_rect(shapes, conv, enc_colour, kind=MSO_SHAPE.ROUNDED_RECTANGLE)
    arrow(pair_ab, convs[0], y0 + 0.82, y0 + 0.82, width=2)
    grid = at(11.25, y0 + 0.3, 1.05, 1.05)
    verdicts = "1101" "0111" "1110" "1011"
    cells = [c for row in grid.rows(1, 1, 1, 1, gap=Emu(12700)) for c in row.cols(1, 1, 1, 1, gap=Emu(12700))]
    for cell, verdict in zip(cells, verdicts):
        add_rect(shapes, cell, RGBColor(0x2A, 0x9D, 0x8F) if verdict == "1" else RGBColor(0xC8, 0x3A, 0x5A))
    arrow(convs[-1], grid, width=2)
    add_text(shapes, at(10.0, y0 + 1.38, 2.33, 0.7), ["real o generado,", "por parche"], color=MUTED,
             align=PP_ALIGN.RIGHT)
    loss = [("Pérdida de G" + (" (receta base)" if lam else ""), LABEL_PT + 2, True, INK),
            ("adversarial (engañar a D)", LABEL_PT, False, INK),
            ("+ λ·L1 (acercarse al color real)" + (f", λ = {lam:,g}" if lam else ""), LABEL_PT, False, INK)]
    add_node(shapes, at(7.6, y0 + 2.05, 4.73, 1.0), loss, fill=CARD)
    return True


def visual_wrangling(slide, box: Box, ctx: Context) -> bool:
    """A waterfall of shapes: the photos scanned, what each reason set aside, the photos kept."""
    counts = ctx.outputs.data.report["counts"]
    reasons = {"unreadable": ("ilegible", "ilegibles"), "truncated": ("truncada", "truncadas"),
               "too_small": ("demasiado pequeña", "demasiado pequeñas"), "grayscale": ("casi gris", "casi grises"),
               "sepia": ("virada (sepia)", "viradas (sepia)"), "duplicate": ("duplicada", "duplicadas")}
    steps = [(f"{counts['scanned']} revisadas", 0, counts["scanned"], INK)]
    start = counts["scanned"]
    for reason, n in counts["rejected"].items():
        if n:
            start -= n
            name = reasons.get(reason, (reason, reason))[n != 1]
            steps.append((f"−{n} {name}", start, n, RGBColor(0xC8, 0x3A, 0x5A)))
    steps.append((f"{counts['kept']} conservadas", 0, counts["kept"], ACCENT))
    shapes = add_group(slide, "cascada de prepare")
    label_w = Inches(3.0)
    bars = Box(box.left + label_w + Inches(0.15), box.top, box.width - label_w - Inches(0.15), box.height)
    rows = box.inset(dy=Inches(0.2)).rows(*[1] * len(steps), gap=Inches(0.18))
    scale = bars.width / counts["scanned"]
    for (label, start, n, colour), row in zip(steps, rows):
        height = min(row.height, Inches(0.75))
        top = row.top + (row.height - height) // 2
        add_text(shapes, Box(box.left, top, label_w, height), [label], LABEL_PT + 4, bold=True, color=INK,
                 align=PP_ALIGN.RIGHT, anchor=MSO_ANCHOR.MIDDLE)
        add_rect(shapes, Box(bars.left + int(start * scale), top, max(int(n * scale), Inches(0.06)), height), colour)
    return True


PIPELINE = (("Fotos", "sin modificar"), ("prepare", "limpiar y dividir"), ("Entrenar L1", "el generador solo"),
            ("Entrenar GAN", "un par lr_G / lr_D"), ("Evaluar", "FID y KID"), ("Elegir", "el campeón"),
            ("Exportar", "a ONNX"), ("API", "Flask y gunicorn en Docker"))


def _pipeline(shapes, box: Box, highlight: int, copies: int = 1):
    """The DVC pipeline from the raw photos to the API, as a two-row snake; ``copies`` cards under
    "Entrenar GAN" (one stage per lr pair)."""
    top, bottom = box.rows(1, 1, gap=Inches(0.45))
    cells = top.cols(1, 1, 1, 1, gap=Inches(0.55)) + bottom.cols(1, 1, 1, 1, gap=Inches(0.55))[::-1]
    for k, ((head, detail), cell) in enumerate(zip(PIPELINE, cells)):
        behind, shift = min(copies, 4) - 1, Inches(0.09)
        if head == "Entrenar GAN" and behind > 0:  # the other runs' cards behind this one
            cell = Box(cell.left, cell.top + behind * shift, cell.width - behind * shift, cell.height - behind * shift)
            for c in range(behind, 0, -1):
                add_node(shapes, Box(cell.left + c * shift, cell.top - c * shift, cell.width, cell.height), [],
                         fill=SOFT)
        chosen = k == highlight
        add_node(shapes, cell, [(head, LABEL_PT + 4, True, WHITE if chosen else INK),
                                (detail, LABEL_PT, False, WHITE if chosen else TEXT)],
                 fill=ACCENT if chosen else CARD, line=None if chosen else SOFT)
        cells[k] = cell
    for k in range(len(cells) - 1):
        a, b = cells[k], cells[k + 1]
        if k == 3:  # down to the second row
            x = a.left + a.width // 2
            add_arrow(shapes, x, a.bottom + Inches(0.04), x, b.top - Inches(0.04), width=2.5)
        elif k < 3:
            y = a.top + a.height // 2
            add_arrow(shapes, a.right + Inches(0.04), y, b.left - Inches(0.04), y, width=2.5)
        else:
            y = a.top + a.height // 2
            add_arrow(shapes, a.left - Inches(0.04), y, b.right + Inches(0.04), y, width=2.5)


def visual_dataset(slide, box: Box, ctx: Context) -> bool:
    copies = len(ctx.outputs.results["params"].get("sweep", {})) if ctx.outputs else 1
    if ctx.outputs is None or box.height < Inches(3.2):
        _pipeline(add_group(slide, "pipeline"), box, highlight=1, copies=copies)
        return True
    flow = Box(box.left, box.top, box.width, box.height - Inches(0.85))
    split = Box(box.left, box.bottom - Inches(0.6), box.width, Inches(0.6))
    _pipeline(add_group(slide, "pipeline"), flow, highlight=1, copies=copies)
    counts = ctx.outputs.data.report["counts"]
    parts = [("entrenamiento", counts["train"], ACCENT), ("validación", counts["val"], HUES[7]),
             ("prueba", counts["test"], HUES[4])]
    shapes = add_group(slide, "división")
    cells = split.cols(*[max(n, counts["kept"] * 0.25) for _, n, _ in parts], gap=Inches(0.06))
    for (name, n, colour), cell in zip(parts, cells):
        add_node(shapes, cell, [f"{name}: {n}"], size=LABEL_PT + 2, bold=True, fill=colour, color=WHITE,
                 kind=MSO_SHAPE.RECTANGLE)
    return True


def visual_container(slide, box: Box, ctx: Context) -> bool:
    shapes = add_group(slide, "contenedor")
    outer = box.inset(dx=Inches(0.05), dy=Inches(0.05))
    add_node(shapes, outer, [], fill=RGBColor(0xF5, 0xF3, 0xF9), line=INK)
    add_text(shapes, Box(outer.left + Inches(0.25), outer.top + Inches(0.12), outer.width - Inches(0.5), Inches(0.5)),
             ["Imagen Docker"], LABEL_PT + 6, bold=True, color=INK)
    inner = Box(outer.left + Inches(0.3), outer.top + Inches(0.75), outer.width - Inches(0.6),
                outer.height - Inches(0.95))
    server, workers, tags = inner.rows(22, 42, 36, gap=Inches(0.3))
    add_node(shapes, server, [("gunicorn", LABEL_PT + 4, True, WHITE),
                              ("recibe las peticiones HTTP", LABEL_PT, False, WHITE)], fill=INK)
    for column in workers.cols(1, 1, gap=Inches(0.3)):
        add_node(shapes, column, [("proceso de trabajo", LABEL_PT + 2, True, WHITE),
                                  ("Flask + ONNX Runtime,", LABEL_PT, False, WHITE),
                                  ("el modelo cargado una vez", LABEL_PT, False, WHITE)], fill=ACCENT)
        add_arrow(shapes, column.left + column.width // 2, server.bottom + Inches(0.04),
                  column.left + column.width // 2, column.top - Inches(0.04), width=2.5)
    for tag, cell in zip(("sin PyTorch ni MLflow", "usuario sin privilegios", "HEALTHCHECK: /ready"),
                         tags.rows(1, 1, 1, gap=Inches(0.12))):
        add_node(shapes, cell, [tag], size=LABEL_PT + 2, fill=WHITE, line=SOFT, color=INK)
    return True


def visual_cloud(slide, box: Box, ctx: Context) -> bool:
    """What is done (solid) and what is a plan (dashed): CI builds and tests the image; a VM and DagsHub."""
    shapes = add_group(slide, "despliegue")
    legend = Box(box.left, box.top, box.width, Inches(0.45))
    area = Box(box.left, box.top + Inches(0.65), box.width, box.height - Inches(0.65))
    for cell, (label, dashed) in zip(legend.cols(1.6, 1, gap=Inches(0.3)),
                                     (("hecho y comprobado", False), ("plan", True))):
        add_node(shapes, Box(cell.left, cell.top + Inches(0.05), Inches(0.55), cell.height - Inches(0.1)), [],
                 fill=None, line=INK, dashed=dashed)
        add_text(shapes, Box(cell.left + Inches(0.65), cell.top, cell.width - Inches(0.65), cell.height), [label],
                 LABEL_PT + 2, anchor=MSO_ANCHOR.MIDDLE)
    flow, side = area.cols(57, 43, gap=Inches(0.45))
    steps = (("Repositorio", "código y Dockerfile", False),
             ("Integración continua", "construye y prueba la imagen", False),
             ("Máquina virtual", "cloud-init levanta el contenedor", True), ("Usuarios", "navegador o curl", True))
    cells = flow.rows(1, 1, 1, 1, gap=Inches(0.35))
    for (head, detail, plan), cell in zip(steps, cells):
        add_node(shapes, cell, [(head, LABEL_PT + 4, True, INK), (detail, LABEL_PT, False, TEXT)],
                 fill=WHITE if plan else CARD, line=INK, dashed=plan)
    for k, (a, b) in enumerate(zip(cells, cells[1:])):
        x = a.left + a.width // 2
        if k == 2:  # users call the VM
            add_arrow(shapes, x, b.top - Inches(0.04), x, a.bottom + Inches(0.04), dashed=True)
        else:
            add_arrow(shapes, x, a.bottom + Inches(0.04), x, b.top - Inches(0.04), dashed=steps[k + 1][2])
    stores = side.rows(1, 1, gap=Inches(0.35))
    stores_ = (("MLflow", "las corridas, en DagsHub"), ("Datos", "dvc push al remoto de DagsHub"))
    for (head, detail), cell in zip(stores_, stores):
        add_node(shapes, cell, [(head, LABEL_PT + 4, True, INK), (detail, LABEL_PT, False, TEXT)], fill=WHITE, line=INK,
                 dashed=True)
    return True


def visual_references(slide, box: Box, ctx: Context) -> bool:
    """The report's references with a year, on a time line: as many as fit, those the slide cites first."""
    cited = " ".join(ctx.spec.bullets) if ctx.spec else ""
    ranked = sorted(ctx.report.references, key=lambda r: (r[1] not in cited, r[0]))
    references = sorted(ranked[:max(3, box.height // Inches(0.34))])
    if len(references) < 3:
        return False
    shapes = add_group(slide, "línea de tiempo")
    rows = box.rows(*[1] * len(references))
    line_x = box.left + Inches(1.05)
    add_arrow(shapes, line_x, rows[0].top + rows[0].height // 2, line_x, rows[-1].top + rows[-1].height // 2,
              color=SOFT, width=3, head=False)
    for (year, author, title), row, colour in zip(references, rows, HUES * 2):
        middle = row.top + row.height // 2
        add_text(shapes, Box(box.left, middle - Inches(0.2), Inches(0.8), Inches(0.4)), [str(year)], LABEL_PT,
                 bold=True, color=INK, align=PP_ALIGN.RIGHT, anchor=MSO_ANCHOR.MIDDLE)
        add_rect(shapes, Box(line_x - Inches(0.09), middle - Inches(0.09), Inches(0.18), Inches(0.18)), colour,
                 kind=MSO_SHAPE.OVAL)
        text_box = Box(line_x + Inches(0.25), middle - Inches(0.2), box.right - line_x - Inches(0.25), Inches(0.4))
        short = f"{author}: {title}"
        while lines_needed(short, text_box.width - Inches(0.15), LABEL_PT) > 1:
            short = short[:-2].rstrip() + "…"
        add_text(shapes, text_box, [short], LABEL_PT, anchor=MSO_ANCHOR.MIDDLE)
    return True


def visual_emblem(slide, box: Box, ctx: Context) -> bool:
    hue_ring(add_group(slide, "emblema"), box)
    return True
