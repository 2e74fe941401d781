"""Colour hints: the user's points (checked one by one), the sampled training hints, the generators that
take them, the propagation, ONNX export and parity, the Colorizer, the API (a real gunicorn), the CLI and
``evaluate --hints``."""

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import requests
import torch
from PIL import Image

from chromatic_charm import color
from chromatic_charm.hints import MAX_HINTS, Hint, HintError, ab_at_lightness, parse, parse_cli, to_grid
from chromatic_charm.training.hints import sample_hints, sample_training_counts

from conftest import train_tiny


def photo_png(width=96, height=64) -> bytes:
    yy, xx = np.mgrid[0:height, 0:width]
    gray = (40 + 150 * xx / width + 30 * (yy > height / 2)).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(gray).save(buffer, "PNG")
    return buffer.getvalue()


# --- the user's hints --------------------------------------------------------------------------------

def test_parse_takes_json_and_objects():
    hints = parse('[{"x": 3, "y": 4.5, "color": "#C0392b"}, {"x": 0, "y": 0, "color": "00ff00", "radius": 2}]')
    assert hints == [Hint(3.0, 4.5, (192, 57, 43), 0.0), Hint(0.0, 0.0, (0, 255, 0), 2.0)]
    assert parse([]) == [] and hints[0].hex == "#c0392b"


@pytest.mark.parametrize("value,message", [
    ("{not json", "hints is not valid JSON"),
    ('{"x": 1}', "hints must be a JSON list of {\"x\", \"y\", \"color\"} objects, got an object"),
    ("[1]", "hint 0: must be an object"),
    ('[[1, 2]]', "got a list"),
    ('[{"x": 1, "y": 2}]', "hint 0: missing 'color'"),
    ('[{"x": 1, "y": 2, "color": "#fff"}]', "hint 0: color '#fff' is not a colour; write it as #rrggbb"),
    ('[{"x": 1, "y": 2, "color": "red"}]', "hint 0: color 'red' is not a colour"),
    ('[{"x": 1, "y": 2, "color": "#ff0000"}, {"x": "a", "y": 2, "color": "#ff0000"}]', 'hint 1: x must be a number, got "a"'),
    ('[{"x": 1, "y": true, "color": "#ff0000"}]', "hint 0: y must be a number, got true"),
    ('[{"x": 1, "y": 2, "colour": "#ff0000"}]', "hint 0: unknown key 'colour'"),
    ('[{"x": 1, "y": 2, "color": "#ff0000", "radius": -1}]', "hint 0: radius -1 must be between 0 and"),
    (json.dumps([{"x": 1, "y": 1, "color": "#000000"}] * (MAX_HINTS + 1)), f"more than the limit of {MAX_HINTS}"),
])
def test_each_bad_hint_is_named_and_explained(value, message):
    with pytest.raises(HintError, match=message.replace("(", r"\(").replace("[", r"\[")):
        parse(value)


def test_cli_hints():
    assert parse_cli("120,45,#c0392b") == Hint(120.0, 45.0, (192, 57, 43), 0.0)
    assert parse_cli("1.5, 2, #00FF00, 3").radius == 3.0
    for text, message in (("120,45", "must be X,Y,#RRGGBB"), ("a,45,#c0392b", "x 'a' is not a number"),
                          ("1,2,#zzzzzz", "is not a colour")):
        with pytest.raises(HintError, match=message):
            parse_cli(text)


def test_grid_places_points_and_checks_the_photo():
    lightness = np.full((16, 16), 50.0, np.float32)
    grid = to_grid([Hint(0, 0, (255, 0, 0)), Hint(99, 49, (0, 0, 255)), Hint(50, 25, (0, 255, 0), radius=7)],
                   (100, 50), lightness)
    assert grid.shape == (3, 16, 16) and grid[2, 0, 0] == 1 and grid[2, 15, 15] == 1
    assert grid[0, 0, 0] > 0.3 and grid[1, 15, 15] < -0.3  # red: a* > 0; blue: b* < 0
    # radius 7 photo pixels: +-1 cell across (7 x 16/100), +-2 down (7 x 16/50): a 3 x 5 patch
    rows, cols = np.nonzero(grid[2, 1:15, 1:15])
    assert (rows.max() - rows.min() + 1, cols.max() - cols.min() + 1) == (5, 3)
    with pytest.raises(HintError, match=r"hint 1: \(100, 3\) is outside the photo; x must be in 0..99"):
        to_grid([Hint(5, 5, (0, 0, 0)), Hint(100, 3, (0, 0, 0))], (100, 50), lightness)


def test_a_colour_is_shown_at_the_photos_own_lightness():
    yellow = np.array([[1.0, 1.0, 0.0]])
    full = color.rgb_to_lab(yellow)[0]
    dark = ab_at_lightness(yellow, np.array([20.0]))[0]
    assert np.allclose(ab_at_lightness(yellow, np.array([full[0]]))[0], full[1:], atol=0.5)  # fits: unchanged
    hue = lambda ab: np.degrees(np.arctan2(ab[1], ab[0]))  # noqa: E731
    assert abs(hue(dark) - hue(full[1:])) < 0.5 and np.hypot(*dark) < 0.5 * np.hypot(*full[1:])
    rgb = color.lab_to_rgb(np.array([[20.0, *dark]]))  # in gamut: clipping changes nothing
    assert np.allclose(color.rgb_to_lab(rgb)[0], [20.0, *dark], atol=0.5)


# --- sampled hints -----------------------------------------------------------------------------------

def test_sampled_hints_carry_the_true_colours():
    ab = torch.rand(4, 2, 40, 40) * 2 - 1
    hints = sample_hints(ab, 5, patch=1, generator=torch.Generator().manual_seed(0))
    mask = hints[:, 2] > 0
    assert hints.shape == (4, 3, 40, 40) and 3 <= mask.sum((1, 2)).min() and mask.sum((1, 2)).max() == 5
    assert torch.allclose(hints[:, :2][mask[:, None].expand(-1, 2, -1, -1)], ab[mask[:, None].expand(-1, 2, -1, -1)],
                          atol=1e-4)
    assert (hints[:, :2][~mask[:, None].expand(-1, 2, -1, -1)] == 0).all()
    # a 3 x 3 patch holds the mean of its square
    one = sample_hints(ab[:1], 1, patch=3, generator=torch.Generator().manual_seed(1))
    ys, xs = torch.nonzero(one[0, 2], as_tuple=True)
    square = ab[0, :, ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    assert len(ys) == 9 and torch.allclose(one[0, :2, ys[0], xs[0]], square.mean((1, 2)), atol=1e-4)
    assert torch.equal(sample_hints(ab, 0), torch.zeros(4, 3, 40, 40))


def test_training_draws_none_for_half_and_about_eight_otherwise():
    counts = sample_training_counts(4000, torch.Generator().manual_seed(0))
    assert 0.45 < (counts == 0).float().mean() < 0.55
    assert 6.5 < counts[counts > 0].float().mean() < 9.0 and counts.max() <= 32


# --- the generators and the propagation -----------------------------------------------------------------

@pytest.mark.parametrize("mode", ["encoder", "decoder"])
def test_pretrained_unet_takes_hints_without_touching_its_encoders_input(mode):
    from chromatic_charm.models import PretrainedUNet, PretrainedUNetConfig

    torch.manual_seed(0)
    hinted = PretrainedUNet(PretrainedUNetConfig(hints=mode)).eval()
    plain = PretrainedUNet(PretrainedUNetConfig()).eval()
    if mode == "encoder":
        missing = plain.load_state_dict(hinted.state_dict(), strict=False)
    lightness = torch.rand(2, 1, 64, 64) * 2 - 1
    hints = sample_hints(torch.rand(2, 2, 64, 64) - 0.5, 8, patch=3)
    with torch.no_grad():
        assert torch.equal(hinted(lightness), hinted(lightness, torch.zeros(2, 3, 64, 64)))
        if mode == "encoder":  # the new stem starts at zero: the same network as before, whatever the hints
            assert missing.unexpected_keys == ["hint_stem.weight"]
            assert torch.allclose(hinted(lightness, hints), plain(lightness), atol=1e-6)
        else:  # every decoder block reads the pooled hints: they change the output from the start
            out = hinted(lightness, hints)
            assert out.shape == (2, 2, 64, 64) and (out - hinted(lightness)).abs().max() > 1e-4
        with pytest.raises(ValueError, match="trained without hints"):
            plain(lightness, hints)


def test_propagation_spreads_a_hint_to_its_region_and_changes_nothing_without():
    from chromatic_charm.models.propagation import HintPropagation

    lightness = torch.full((1, 1, 64, 64), -0.5)
    lightness[..., 32:] = 0.8  # a dark left half, a light right half
    ab = torch.zeros(1, 2, 64, 64)
    hints = torch.zeros(1, 3, 64, 64)
    hints[0, :, 30, 8] = torch.tensor([0.4, 0.2, 1.0])  # a red-orange point on the left
    out = HintPropagation()(lightness, ab, hints)
    assert torch.equal(HintPropagation()(lightness, ab, torch.zeros(1, 3, 64, 64)), ab)
    assert out[0, 0, 30, 8] > 0.2 and out[0, 0, 10, 20] > 0.1  # the point, and its dark half further away
    assert out[0, 0, 30, 56].abs() < 0.05 * out[0, 0, 30, 8]  # the light half keeps its colour


def test_propagation_follows_the_networks_colours_across_the_photo():
    from chromatic_charm.models.propagation import HintPropagation

    lightness = torch.zeros(1, 1, 64, 64)  # one lightness everywhere
    ab = torch.zeros(1, 2, 64, 64)
    ab[0, 1, :, 32:] = 0.3  # the network coloured the right half yellow, the left half gray
    ab[0, 1, 40:, 12:20] = 0.3  # and a yellow strip at the bottom left, away from the hint
    hints = torch.zeros(1, 3, 64, 64)
    hints[0, :, 10, 60] = torch.tensor([0.3, 0.3, 1.0])  # an orange point in the yellow half
    out = HintPropagation()(lightness, ab, hints)
    assert torch.allclose(out[0, :, 10, 60], torch.tensor([0.3, 0.3]), atol=0.01)  # the point takes its colour
    assert out[0, 0, 40, 40] > 0.2  # the yellow half turns orange
    assert 0.05 < out[0, 0, 50, 16] < out[0, 0, 40, 40]  # the yellow strip away from it too, less
    assert out[0, 0, 10, 28].abs() < 0.01  # the gray half next to the point keeps its colour


# --- training, export, serving ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def hint_checkpoint(clean_data, tmp_path_factory):
    return train_tiny(tmp_path_factory.mktemp("hints"), clean_data, experiment="hints", hints=True)


def test_training_with_hints_records_it(hint_checkpoint):
    from chromatic_charm.training import checkpoint

    state = checkpoint.load(hint_checkpoint)
    assert state["generator_config"]["hints"] == "input" and state["train_config"]["hints"] is True
    assert checkpoint.load_generator(hint_checkpoint).takes_hints


def test_export_takes_hints_with_parity_and_old_exports_can_gain_them(hint_checkpoint, onnx_model, clean_data, tmp_path):
    import onnxruntime as ort

    from chromatic_charm.errors import UserError
    from chromatic_charm.export import add_hints, export

    meta = export(str(hint_checkpoint), tmp_path / "h.onnx", data_dir=clean_data, card=True)
    session = ort.InferenceSession(str(tmp_path / "h.onnx"))
    # hints is an input with a default of zeros: code that feeds only L, as for earlier exports, still works
    assert [i.name for i in session.get_inputs()] == ["L"]
    assert [i.name for i in session.get_overridable_initializers()] == ["hints"]
    lightness = np.zeros((3, 1, 32, 32), np.float32)
    assert np.array_equal(session.run(["ab"], {"L": lightness})[0],
                          session.run(["ab"], {"L": lightness, "hints": np.zeros((3, 3, 32, 32), np.float32)})[0])
    assert meta["hints"]["learned"] == "input" and {"real_hints", "random_hints"} <= set(meta["parity_max_abs_diff"])
    assert "spread" not in meta["hints"]  # a network that reads its hints keeps the graph's propagation
    assert max(meta["parity_max_abs_diff"].values()) < 1e-4 and "Takes colour hints" in (tmp_path / "README.md").read_text()
    with pytest.raises(UserError, match="trained with --hints"):
        export(str(hint_checkpoint), tmp_path / "plain.onnx", hints=False)
    plain_meta = export(json.loads(onnx_model.with_suffix(".json").read_text())["source"], tmp_path / "old.onnx",
                        hints=False, data_dir=clean_data)
    assert plain_meta["hints"] is None
    old_session = ort.InferenceSession(str(tmp_path / "old.onnx"))
    assert [i.name for i in old_session.get_inputs()] == ["L"] and not old_session.get_overridable_initializers()
    added = add_hints(tmp_path / "old.onnx", tmp_path / "upgraded.onnx")
    assert added["hints"]["parity_max_abs_diff"]["no_hints"] == 0.0 and added["hints"]["learned"] == "none"
    assert added["hints"]["spread"]["method"] == "geodesic"  # served with round 6's propagation
    with pytest.raises(UserError, match="only an L-only export"):
        add_hints(tmp_path / "upgraded.onnx", tmp_path / "twice.onnx")


def test_the_colorizer_serves_the_geodesic_propagation_and_an_earlier_export_its_graphs(onnx_model, tmp_path):
    import shutil

    from chromatic_charm import spread
    from chromatic_charm.export import model_card
    from chromatic_charm.inference import Colorizer

    meta = json.loads(onnx_model.with_suffix(".json").read_text())
    assert meta["hints"]["spread"] == spread.SpreadConfig().describe()
    card = model_card(meta, onnx_model)
    assert "geodesic" in card and "stopping at edges" in card
    new = Colorizer(onnx_model)
    assert new.spread == spread.SpreadConfig()
    rng = np.random.default_rng(0)
    lightness = rng.uniform(-1, 1, (1, 1, 32, 32)).astype(np.float32)
    hint_map = np.zeros((1, 3, 32, 32), np.float32)
    hint_map[0, :, 8, 20] = (0.5, -0.3, 1.0)
    served = new.predict_ab(lightness, hint_map)
    expected = spread.propagate(lightness[0, 0], new.predict_ab(lightness)[0], hint_map[0], spread.SpreadConfig())
    assert served.shape == (1, 2, 32, 32) and np.allclose(served[0], expected, atol=1e-6)
    graph = new.session.run(["ab"], {"L": lightness, "hints": hint_map})[0]  # round 4's, in the graph
    assert np.abs(served - graph).max() > 0.01  # two different propagations
    # An export from before round 6 (no "spread" in its metadata) keeps its graph's propagation.
    shutil.copy(onnx_model, tmp_path / "earlier.onnx")
    del meta["hints"]["spread"]
    (tmp_path / "earlier.json").write_text(json.dumps(meta))
    earlier = Colorizer(tmp_path / "earlier.onnx")
    assert earlier.spread is None and np.array_equal(earlier.predict_ab(lightness, hint_map), graph)


def test_colorizer_follows_a_hint_and_an_old_model_says_it_takes_none(onnx_model, l_only_model):
    from chromatic_charm.inference import Colorizer

    gray = np.asarray(Image.open(io.BytesIO(photo_png())))
    colorizer = Colorizer(onnx_model)
    plain = colorizer.colorize_gray(gray)
    red = colorizer.colorize_gray(gray, [{"x": 20, "y": 20, "color": "#ff0000", "radius": 4}])
    assert colorizer.takes_hints and red.shape == (64, 96, 3)
    lab_plain, lab_red = (color.rgb_to_lab(x[20, 20].astype(np.float32) / 255) for x in (plain, red))
    assert lab_red[1] > lab_plain[1] + 10  # a* (red) rose where the hint is
    assert np.array_equal(colorizer.colorize_gray(gray, []), plain)
    old = Colorizer(l_only_model)
    assert not old.takes_hints and np.array_equal(old.colorize_gray(gray), plain)
    with pytest.raises(HintError, match="takes no hints"):
        old.colorize_gray(gray, [{"x": 1, "y": 1, "color": "#ff0000"}])


@pytest.mark.parametrize("hints,status,message", [
    ('[{"x": 10, "y": 10, "color": "#ff0000"}]', 200, None),
    ("[]", 200, None),
    ("not json", 400, "hints is not valid JSON"),
    ('{"x": 1}', 400, "hints must be a JSON list"),
    (json.dumps([{"x": 1, "y": 1, "color": "#000000"}] * 257), 400, "more than the limit of 256"),
    ('[{"x": 10, "y": 10, "color": "#ff0000"}, {"x": 96, "y": 10, "color": "#ff0000"}]', 400,
     "hint 1: (96, 10) is outside the photo; x must be in 0..95"),
    ('[{"x": 10, "y": -1, "color": "#ff0000"}]', 400, "hint 0: (10, -1) is outside the photo"),
    ('[{"x": 10, "y": 10, "color": "crimson"}]', 400, "hint 0: color 'crimson' is not a colour"),
])
def test_api_hints_and_each_bad_hint(server, hints, status, message):
    url, _ = server
    response = requests.post(f"{url}/colorize", files={"image": ("p.png", photo_png(), "image/png")},
                             data={"hints": hints}, timeout=30)
    assert response.status_code == status
    if status == 200:
        assert Image.open(io.BytesIO(response.content)).size == (96, 64)
    else:
        assert response.json() == {"error": response.json()["error"], "status": 400}
        assert message in response.json()["error"]


def test_api_result_changes_where_the_hint_is_and_says_it_takes_hints(server):
    url, _ = server
    post = lambda data=None: np.asarray(Image.open(io.BytesIO(requests.post(  # noqa: E731
        f"{url}/colorize", files={"image": ("p.png", photo_png(), "image/png")}, data=data, timeout=30).content)))
    plain, hinted = post(), post({"hints": '[{"x": 70, "y": 40, "color": "#0000ff", "radius": 4}]'})
    blue = lambda rgb: color.rgb_to_lab(rgb.astype(np.float32) / 255)[2]  # noqa: E731
    assert blue(hinted[40, 70]) < blue(plain[40, 70]) - 10  # b* fell: bluer
    assert requests.get(f"{url}/model", timeout=10).json()["hints"] is True
    schema = requests.get(f"{url}/openapi.json", timeout=10).json()
    props = schema["paths"]["/colorize"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]
    assert "#rrggbb" in props["hints"]["description"]


def test_api_reads_hints_from_a_file_part_and_the_query_string_and_never_ignores_them(server):
    url, _ = server
    good, bad = '[{"x": 70, "y": 40, "color": "#0000ff", "radius": 4}]', '[{"x": 70, "y": 40}]'
    blue = lambda body: color.rgb_to_lab(  # noqa: E731
        np.asarray(Image.open(io.BytesIO(body)))[40, 70].astype(np.float32) / 255)[2]
    plain = requests.post(f"{url}/colorize", data=photo_png(), headers={"Content-Type": "image/png"}, timeout=30)
    as_form = requests.post(f"{url}/colorize", files={"image": ("p.png", photo_png(), "image/png")},
                            data={"hints": good}, timeout=30)
    as_file = requests.post(f"{url}/colorize", files={"image": ("p.png", photo_png(), "image/png"),
                                                      "hints": ("hints.json", good.encode(), "application/json")},
                            timeout=30)
    as_query = requests.post(f"{url}/colorize", params={"hints": good}, data=photo_png(),
                             headers={"Content-Type": "image/png"}, timeout=30)
    assert plain.status_code == as_form.status_code == as_file.status_code == as_query.status_code == 200
    assert blue(as_form.content) < blue(plain.content) - 10  # the hint was followed
    assert as_file.content == as_form.content and as_query.content == as_form.content  # read the same way
    for kwargs in ({"files": {"image": ("p.png", photo_png(), "image/png"), "hints": ("h.json", bad.encode())}},
                   {"params": {"hints": bad}, "data": photo_png(), "headers": {"Content-Type": "image/png"}},
                   {"files": {"image": ("p.png", photo_png(), "image/png"), "hints": ("h.json", b"\xff\xfe\x00")}},
                   {"files": {"image": ("p.png", photo_png(), "image/png")}, "data": {"hints": good},
                    "params": {"hints": good}}):
        response = requests.post(f"{url}/colorize", timeout=30, **kwargs)
        assert response.status_code == 400, kwargs
        assert any(m in response.json()["error"] for m in ("hint 0: missing 'color'", "not UTF-8 text",
                                                           "hints sent twice (as the form field and the query string)"))


def test_api_hints_for_a_model_that_takes_none_get_a_400(server_without_hints):
    url, _ = server_without_hints
    response = requests.post(f"{url}/colorize", files={"image": ("p.png", photo_png(), "image/png")},
                             data={"hints": '[{"x": 1, "y": 1, "color": "#ff0000"}]'}, timeout=30)
    assert response.status_code == 400 and "takes no hints" in response.json()["error"]
    assert requests.get(f"{url}/model", timeout=10).json()["hints"] is False
    ok = requests.post(f"{url}/colorize", files={"image": ("p.png", photo_png(), "image/png")}, timeout=30)
    assert ok.status_code == 200


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "chromatic_charm.cli", *args], capture_output=True, text=True,
                          timeout=300)


def test_cli_colorize_with_hints(onnx_model, l_only_model, tmp_path):
    photo = tmp_path / "p.png"
    photo.write_bytes(photo_png())
    done = run_cli("colorize", str(photo), "-o", str(tmp_path / "out"), "--model", str(onnx_model), "--no-progress",
                   "--hint", "20,20,#ff0000,4", "--hint", "70,40,#0000ff")
    assert done.returncode == 0, done.stderr
    result = np.asarray(Image.open(tmp_path / "out" / "p.png"))
    assert color.rgb_to_lab(result[20, 20].astype(np.float32) / 255)[1] > 10
    for args, message in ((["--hint", "20,20"], "must be X,Y,#RRGGBB"),
                          (["--hint", "200,20,#ff0000"], "hint 0: (200, 20) is outside the photo"),
                          (["--model", str(l_only_model), "--hint", "1,1,#ff0000"], "takes no hints")):
        failed = run_cli("colorize", str(photo), "-o", str(tmp_path / "bad"), "--no-progress",
                         *(["--model", str(onnx_model)] if "--model" not in args else []), *args)
        lines = failed.stderr.strip().splitlines()
        assert failed.returncode == 2 and len(lines) == 1 and message in lines[0], failed.stderr
    two = run_cli("colorize", str(photo), str(photo), "-o", str(tmp_path / "two"), "--model", str(onnx_model),
                  "--hint", "1,1,#ff0000")
    assert two.returncode == 2 and "give one image" in two.stderr


def test_evaluate_with_hints_scores_each_k(hint_checkpoint, clean_data):
    from chromatic_charm.evaluation import evaluate

    out = evaluate(str(hint_checkpoint), data_dir=clean_data, split="test", crops=2, fid=False, log=False,
                   progress=False, hints=(0, 1, 5))
    m = out["metrics"]
    assert m["test_ciede2000_hints0"] == pytest.approx(m["test_ciede2000"])
    assert {f"test_{name}_hints{k}" for name in ("ciede2000", "psnr", "colourfulness") for k in (0, 1, 5)} <= set(m)
    assert all(len(v) == 16 for curve in out["hint_curve"].values() for v in curve.values())  # 8 photos x 2 views
    assert m["test_ciede2000_hints5"] < m["test_ciede2000_hints0"]  # five true colours help even a 3-step model
    again = evaluate(str(hint_checkpoint), data_dir=clean_data, split="test", crops=2, fid=False, log=False,
                     progress=False, hints=(5,))
    assert again["metrics"]["test_ciede2000_hints5"] == pytest.approx(m["test_ciede2000_hints5"])  # fixed seed


def test_the_evaluate_command_keeps_the_per_image_curve_out_of_the_metrics_file(hint_checkpoint, clean_data,
                                                                               tmp_path):
    """DVC shows and diffs the metrics file: it holds each K's means; the per-image values (for intervals)
    go to --curves-out, a file of their own (issue 35: a metrics file of 3,500 lines was noise)."""
    import json

    from chromatic_charm.cli import main

    metrics, curves = tmp_path / "m.json", tmp_path / "curves" / "c.json"
    assert main(["evaluate", str(hint_checkpoint), "--data", str(clean_data), "--crops", "1", "--no-fid", "--no-log",
                 "--no-progress", "--hints", "0,5", "--metrics-out", str(metrics), "--curves-out", str(curves)]) == 0
    summary, side = json.loads(metrics.read_text()), json.loads(curves.read_text())
    assert "hint_curve" not in summary and summary["metrics"]["test_ciede2000_hints5"] > 0
    assert side["run_id"] == summary["run_id"] and set(side["hint_curve"]) == {"0", "5"}
    for k in ("0", "5"):
        values = side["hint_curve"][k]["ciede2000"]
        assert len(values) == 8  # 8 test photos x 1 view
        assert sum(values) / len(values) == pytest.approx(summary["metrics"][f"test_ciede2000_hints{k}"], rel=1e-5)
    assert len(metrics.read_text().splitlines()) < 150


def test_evaluate_logs_the_hint_curve_to_the_run(hint_checkpoint, clean_data, monkeypatch):
    import mlflow

    from chromatic_charm import tracking
    from chromatic_charm.evaluation import evaluate
    from chromatic_charm.training import checkpoint

    monkeypatch.setenv("CHROMATIC_CHARM_ROOT", str(Path(hint_checkpoint).parents[1]))  # the run's own store
    out = evaluate(str(hint_checkpoint), data_dir=clean_data, split="test", crops=1, fid=False, progress=False,
                   hints=(0, 10))
    run_id = checkpoint.load(hint_checkpoint)["run_id"]
    assert out["run_id"] == run_id
    mlflow.set_tracking_uri(tracking.resolve_target().uri)
    logged = mlflow.tracking.MlflowClient().get_run(run_id).data.metrics
    assert logged["test_ciede2000_hints10"] == pytest.approx(out["metrics"]["test_ciede2000_hints10"])
