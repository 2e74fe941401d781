"""prepare: planted bad files land under the right reason; modes convert correctly; splits; Kaggle."""

import csv
import hashlib
import io
import json
import sys
import types
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from chromatic_charm.data import sources
from chromatic_charm.data.prepare import PrepareConfig, format_summary, prepare
from chromatic_charm.errors import UserError

from conftest import REPO, synthetic_photos


def photo(seed: int, w: int = 160, h: int = 120) -> Image.Image:
    """A colourful synthetic photo (distinct per seed, so no accidental near duplicates)."""
    rng = np.random.default_rng(seed)
    base = synthetic_photos(1, 64, seed)[0].astype(np.float64)
    noise = rng.integers(0, 256, (8, 8, 3)).astype(np.float64)
    big = np.asarray(Image.fromarray(noise.astype(np.uint8)).resize((64, 64), Image.Resampling.BICUBIC))
    mix = np.clip(0.5 * base + 0.5 * big, 0, 255).astype(np.uint8)
    return Image.fromarray(mix).resize((w, h), Image.Resampling.BICUBIC)


def digest_tree(folder: Path) -> dict:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def planted(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("raw")
    for i in range(12):
        photo(i).save(root / f"good_{i:02d}.jpg", quality=92)
    sub = root / "nested"
    sub.mkdir()
    photo(50).save(sub / "good_nested.png")
    # truncated JPEG: the first half of a valid file
    data = io.BytesIO()
    photo(100).save(data, "JPEG", quality=92)
    (root / "truncated.jpg").write_bytes(data.getvalue()[: len(data.getvalue()) // 2])
    (root / "garbage.jpg").write_bytes(b"this is not an image at all" * 20)
    photo(101).convert("CMYK").save(root / "cmyk.jpg", quality=95)
    # 16-bit grayscale-ish PNG with values far above 255, and a colour 16-bit-per-channel source
    ramp = (np.linspace(0, 65535, 160)[None, :].repeat(120, 0)).astype(np.uint16)
    Image.fromarray(ramp).save(root / "gray16.png")
    rgba = photo(102).convert("RGBA")
    rgba.putalpha(128)
    rgba.save(root / "rgba.png")
    photo(103).quantize(64).save(root / "palette.png")
    # EXIF orientation 6 (rotate 90 CW on display): stored 160x120, displayed 120x160
    exif = Image.Exif()
    exif[0x0112] = 6
    photo(104).save(root / "rotated.jpg", exif=exif, quality=92)
    photo(105).convert("L").save(root / "gray.jpg")
    photo(106).convert("L").convert("RGB").save(root / "gray_as_rgb.jpg")
    gray = np.asarray(photo(107).convert("L"), dtype=np.float64)[..., None] / 255
    # toned prints: a faded one (mean chroma about 5, like the shared set's) and a stronger one
    # (mean chroma about 9.5, caught by its uniform tint)
    for name, tint, offset in (("sepia_faded.jpg", (1.0, 0.97, 0.92), (4, 2, 0)), ("sepia.jpg", (1.0, 0.95, 0.86), (8, 4, 0))):
        toned = np.clip(gray * np.array(tint) * 255 + np.array(offset), 0, 255).astype(np.uint8)
        Image.fromarray(toned).save(root / name, quality=92)
    photo(108, 60, 40).save(root / "small.jpg")
    (root / "good_03_copy.jpg").write_bytes((root / "good_03.jpg").read_bytes())
    Image.open(root / "good_05.jpg").resize((200, 150)).save(root / "good_05_resized.jpg", quality=80)
    return root


@pytest.fixture(scope="module")
def prepared(planted, tmp_path_factory):
    out = tmp_path_factory.mktemp("clean")
    before = digest_tree(planted)
    report = prepare(PrepareConfig(source=str(planted), out_dir=out, raw_dir=out / "unused", size=32,
                                   min_size=64, workers=2, progress=False))
    return report, out, before


def rejected(report, reason):
    return sorted(item["file"] for item in report["rejected"][reason])


def test_each_planted_file_is_reported_under_the_right_reason(prepared):
    report, _, _ = prepared
    assert rejected(report, "truncated") == ["truncated.jpg"]
    assert rejected(report, "unreadable") == ["garbage.jpg"]
    assert rejected(report, "too_small") == ["small.jpg"]
    assert rejected(report, "grayscale") == ["gray.jpg", "gray16.png", "gray_as_rgb.jpg"]
    assert rejected(report, "sepia") == ["sepia.jpg", "sepia_faded.jpg"]
    dups = {item["file"]: item for item in report["rejected"]["duplicate"]}
    assert set(dups) == {"good_03_copy.jpg", "good_05_resized.jpg"}
    assert dups["good_03_copy.jpg"]["duplicate_of"] == "good_03.jpg" and dups["good_03_copy.jpg"]["distance"] == -1
    assert dups["good_05_resized.jpg"]["duplicate_of"] == "good_05.jpg" and 0 <= dups["good_05_resized.jpg"]["distance"] <= 4


def test_conversions_are_recorded_and_kept(prepared):
    report, out, _ = prepared
    converted = report["converted"]
    assert converted["CMYK"] == ["cmyk.jpg"] and converted["RGBA"] == ["rgba.png"]
    assert converted["P"] == ["palette.png"] and converted["EXIF-rotated"] == ["rotated.jpg"]
    kept = {row["source"]: row for row in csv.DictReader(open(out / "index.csv"))}
    assert {"cmyk.jpg", "rgba.png", "palette.png", "rotated.jpg", "nested/good_nested.png"} <= set(kept)
    assert (kept["rotated.jpg"]["width"], kept["rotated.jpg"]["height"]) == ("120", "160")  # orientation applied


def test_counts_arrays_and_index_agree(prepared):
    report, out, _ = prepared
    counts = report["counts"]
    assert counts["scanned"] == 27 and counts["kept"] == 27 - sum(counts["rejected"].values()) == 17
    assert counts["train"] + counts["val"] + counts["test"] == counts["kept"]
    rows = list(csv.DictReader(open(out / "index.csv")))
    manifest = json.loads((out / "manifest.json").read_text())
    for split in ("train", "val", "test"):
        array = np.load(out / f"{split}.npy", mmap_mode="r")
        assert array.shape == (counts[split], 32, 32, 3) and array.dtype == np.uint8
        assert sorted(int(r["row"]) for r in rows if r["split"] == split) == list(range(counts[split]))
        assert manifest["splits"][split] == counts[split]
    assert manifest["data_version"] == report["data_version"] == hashlib.sha256(
        (out / "index.csv").read_bytes()).hexdigest()[:12]
    assert not list(out.glob(".*"))  # no staging or temporary files left


def test_stored_pixels_match_the_source(prepared, planted):
    _, out, _ = prepared
    rows = list(csv.DictReader(open(out / "index.csv")))
    row = next(r for r in rows if r["source"] == "good_00.jpg")
    stored = np.load(out / f"{row['split']}.npy")[int(row["row"])].astype(float)
    expected = np.asarray(Image.open(planted / "good_00.jpg").convert("RGB").resize((43, 32)).crop((5, 0, 37, 32)),
                          dtype=float)
    assert np.abs(stored - expected).mean() < 12  # same picture, up to the resampling filter


def test_sixteen_bit_is_scaled_not_clipped():
    from chromatic_charm.data.prepare import to_rgb

    ramp = (np.linspace(0, 65535, 256)[None, :].repeat(4, 0)).astype(np.uint16)
    rgb, notes = to_rgb(Image.fromarray(ramp))
    values = np.asarray(rgb)[0, :, 0]
    assert notes == ["I;16"] and values[0] == 0 and values[-1] == 255
    assert abs(int(values[128]) - 128) <= 1  # mid-grey stays mid-grey (convert("L") would give 255)


def test_raw_data_is_never_modified(prepared, planted):
    _, _, before = prepared
    assert digest_tree(planted) == before


def test_split_is_deterministic_per_seed(planted, tmp_path):
    def split_of(seed, name):
        out = tmp_path / f"{seed}-{name}"
        prepare(PrepareConfig(source=str(planted), out_dir=out, raw_dir=tmp_path, size=16, min_size=64, seed=seed,
                              workers=1, progress=False))
        return [(r["split"], r["source"]) for r in csv.DictReader(open(out / "index.csv"))]

    assert split_of(0, "a") == split_of(0, "b")
    assert split_of(0, "a") != split_of(1, "a")


def test_groups_join_short_series_and_near_views_not_themes():
    from chromatic_charm.data.prepare import photo_groups, series_name

    assert series_name("kphotoalbum__grand_canyon_2.jpg") == series_name("kphotoalbum__grand_canyon_5.jpg")
    assert series_name("endlesssky__mountain18-harro.jpg") == "endlesssky__mountain"
    assert series_name("sub/solo.jpg") == "solo"
    names = ["canyon_1.jpg", "canyon_2.jpg", "canyon_3.jpg",  # a short series: one shoot
             *[f"IMG_{i:04d}.jpg" for i in range(6)],  # a camera's numbering: longer than series_max
             "beach.jpg", "beach_reframed.jpg", "city.jpg"]
    hashes = np.random.default_rng(0).integers(0, 2**63, len(names), dtype=np.uint64)  # ~32 bits apart
    hashes[10] = hashes[9] ^ np.uint64(0b111)  # the re-framed beach: 3 bits from the beach
    groups = photo_groups(names, hashes, distance=2, series_max=4)
    assert groups[0] == groups[1] == groups[2] and len(set(groups[3:9])) == 6
    assert groups[9] != groups[10] and len(set(groups)) == 1 + 6 + 3
    groups = photo_groups(names, hashes, distance=3, series_max=4)
    assert groups[9] == groups[10] and len(set(groups)) == 1 + 6 + 2
    assert len(set(photo_groups(names, hashes, distance=3, series_max=6)[3:9])) == 1  # now a series of 6
    assert list(photo_groups(names, hashes, distance=3, series_max=4)[:4]) == [0, 0, 0, 1]  # numbered in order


def test_split_groups_keeps_each_group_whole_and_fills_the_held_out_splits():
    from chromatic_charm.data.prepare import split_groups

    groups = np.repeat(np.arange(40), np.r_[[4] * 5, [2] * 5, [1] * 30])  # 70 photos in 40 groups
    for seed in range(5):
        labels = np.array(split_groups(groups, 7, 7, seed))
        assert all(len(set(labels[groups == g])) == 1 for g in range(40))
        assert (labels == "val").sum() == 7 and (labels == "test").sum() == 7  # the singletons make it exact
    assert split_groups(groups, 7, 7, 0) == split_groups(groups, 7, 7, 0) != split_groups(groups, 7, 7, 1)
    assert split_groups(np.zeros(5, dtype=int), 1, 1, 0) == ["train"] * 5  # one group cannot be held out
    # a group too big for the split that lacks more goes to the other held-out split if it fits there
    assert split_groups(np.array([0, 0, 0, 1, 1]), 3, 2, 0).count("train") == 0
    # groups that do not fit leave a held-out split short of its target
    short = split_groups(np.repeat(np.arange(6), [4, 4, 4, 4, 1, 1]), 2, 2, 0)
    assert short.count("val") == 1 and short.count("test") == 1


def test_series_are_read_within_a_folder_and_tiny_folders_still_prepare(tmp_path):
    from chromatic_charm.data.prepare import photo_groups

    names = ["trip1/day_1.jpg", "trip2/day_1.jpg", "trip1/day_2.jpg"]
    hashes = np.random.default_rng(1).integers(0, 2**63, 3, dtype=np.uint64)
    assert list(photo_groups(names, hashes, distance=3, series_max=4)) == [0, 1, 0]
    raw = tmp_path / "two"
    raw.mkdir()
    for i in range(2):  # 2 photos: no held-out split is wanted, as before the split by groups
        photo(900 + i).save(raw / f"p{chr(97 + i)}.jpg", quality=92)
    report = prepare(PrepareConfig(source=str(raw), out_dir=tmp_path / "out", raw_dir=tmp_path, size=32, min_size=64,
                                   workers=1, progress=False))
    assert report["counts"]["train"] == 2 and report["groups"]["target"] == {"train": 2, "val": 0, "test": 0}


def test_a_folder_is_split_by_groups(tmp_path, capsys):
    raw = tmp_path / "raw"
    raw.mkdir()
    for i in range(16):
        photo(200 + i).save(raw / f"solo{chr(97 + i)}.jpg", quality=92)
    for i in range(3):  # one shoot: a short series by name, otherwise unrelated pictures
        photo(300 + i).save(raw / f"shoot_{i}.jpg", quality=92)
    photo(400).save(raw / "view.jpg", quality=92)  # and the same view re-framed (a near hash, not a duplicate)
    photo(400, 200, 150).crop((8, 6, 192, 144)).save(raw / "view_wide.jpg", quality=92)
    rows, reports = {}, {}
    for seed in range(6):
        out = tmp_path / f"out{seed}"
        reports[seed] = prepare(PrepareConfig(source=str(raw), out_dir=out, raw_dir=tmp_path, size=32, min_size=64,
                                              seed=seed, val_frac=0.2, test_frac=0.2, workers=1, progress=False))
        rows[seed] = {r["source"]: r["split"] for r in csv.DictReader(open(out / "index.csv"))}
        assert len({rows[seed][f"shoot_{i}.jpg"] for i in range(3)}) == 1
        assert rows[seed]["view.jpg"] == rows[seed]["view_wide.jpg"]
    report = reports[0]
    assert report["counts"]["rejected"]["duplicate"] == 0 and report["counts"]["kept"] == 21
    assert report["groups"]["split_by"] == "group" and report["groups"]["groups"] == 16 + 1 + 1
    assert report["groups"]["groups_of_several"] == 2 and report["groups"]["series_across_splits"] == []
    assert any(rows[s]["shoot_0.jpg"] != "train" for s in rows)  # a group does reach the held-out splits
    assert json.loads((tmp_path / "out0" / "manifest.json").read_text())["split_by"] == "group"
    assert "split by group: 18 groups of related photos (2 of several photos" in format_summary(report)
    assert report["groups"]["target"] == {"train": 13, "val": 4, "test": 4} and "warning" not in format_summary(report)
    short = {**report, "counts": {**report["counts"], "val": 2}}  # as if the groups had left val 2 short
    assert "warning: val got 2 photos of the 4 wanted" in format_summary(short)
    by_photo = prepare(PrepareConfig(source=str(raw), out_dir=tmp_path / "photo", raw_dir=tmp_path, size=32,
                                     min_size=64, split_by="photo", workers=1, progress=False))
    assert by_photo["groups"]["groups"] == 21 and by_photo["groups"]["group_distance"] is None
    with pytest.raises(Exception, match="split_by must be one of group, photo"):
        PrepareConfig(split_by="scene")


def test_summary_names_files_per_reason(prepared):
    text = format_summary(prepared[0], limit=2)
    assert "truncated: 1" in text and "truncated.jpg" in text
    assert "grayscale: 3" in text and "... and 1 more" in text
    assert "duplicate: 2" in text and "(copy of good_03.jpg)" in text


def test_empty_or_missing_folder_is_a_user_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no images"):
        prepare(PrepareConfig(source=str(tmp_path / "empty"), out_dir=tmp_path / "o", raw_dir=tmp_path))
    with pytest.raises(UserError, match="is not a folder"):
        prepare(PrepareConfig(source=str(tmp_path / "missing"), out_dir=tmp_path / "o", raw_dir=tmp_path))


# ------------------------------------------------------------------------------------ Kaggle

def fake_places(root: Path, per_split: int = 4) -> None:
    for k, folder in enumerate(("train_samples", "valid_samples", "test_samples")):
        (root / "val_256" / folder).mkdir(parents=True, exist_ok=True)
        for i in range(per_split):
            photo(1000 + 10 * k + i, 256, 256).save(root / "val_256" / folder / f"Places365_val_{k}{i:04d}.jpg")


def test_kaggle_layout_keeps_its_split(tmp_path, capsys):
    raw = tmp_path / "raw"
    fake_places(raw / "places365")
    report = prepare(PrepareConfig(source="kaggle", out_dir=tmp_path / "clean", raw_dir=raw, size=32,
                                   workers=1, progress=False))
    assert (report["counts"]["train"], report["counts"]["val"], report["counts"]["test"]) == (4, 4, 4)
    rows = list(csv.DictReader(open(tmp_path / "clean" / "index.csv")))
    assert {r["source"].split("/")[0] for r in rows if r["split"] == "val"} == {"valid_samples"}
    assert "the published subset has 21900" in capsys.readouterr().out


def test_a_folder_holding_the_places_layout_keeps_its_split(tmp_path, monkeypatch):
    # The DVC route: 'Data/Raw Data' (dvc add-ed) passed as a folder; no download is attempted.
    monkeypatch.delenv("KAGGLE_USERNAME", raising=False)
    fake_places(tmp_path / "Raw Data", per_split=3)
    report = prepare(PrepareConfig(source=str(tmp_path / "Raw Data"), out_dir=tmp_path / "clean",
                                   raw_dir=tmp_path / "unused", size=32, workers=1, progress=False))
    assert (report["counts"]["train"], report["counts"]["val"], report["counts"]["test"]) == (3, 3, 3)
    rows = list(csv.DictReader(open(tmp_path / "clean" / "index.csv")))
    assert {r["source"].split("/")[0] for r in rows if r["split"] == "test"} == {"test_samples"}
    assert not (tmp_path / "unused").exists()
    # beside the team's photo set (Data/Raw Data/photos, in git), the downloaded folder itself is the
    # source (`dvc add "Data/Raw Data/val_256"`): its split is kept, the photos beside it are not read
    photo(7).save(tmp_path / "Raw Data" / "beside.jpg")
    report = prepare(PrepareConfig(source=str(tmp_path / "Raw Data" / "val_256"), out_dir=tmp_path / "clean2",
                                   raw_dir=tmp_path / "unused", size=32, workers=1, progress=False))
    assert (report["counts"]["train"], report["counts"]["val"], report["counts"]["test"]) == (3, 3, 3)


def test_kaggle_zip_in_raw_data_is_extracted(tmp_path):
    staging, raw = tmp_path / "staging", tmp_path / "raw"
    fake_places(staging, per_split=2)
    raw.mkdir()
    with zipfile.ZipFile(raw / "archive.zip", "w") as zf:
        for path in sorted(staging.rglob("*.jpg")):
            zf.write(path, path.relative_to(staging))
    splits = sources.locate_places(raw, progress=False)
    assert [len(splits[s]) for s in ("train", "val", "test")] == [2, 2, 2]


def test_kaggle_without_credentials_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.delenv("KAGGLE_USERNAME", raising=False)
    monkeypatch.delenv("KAGGLE_KEY", raising=False)
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path / "no-kaggle-config"))
    with pytest.raises(UserError) as err:
        sources.locate_places(tmp_path / "raw", progress=False)
    message = str(err.value)
    assert "https://www.kaggle.com/datasets/pankajkumar2002/places365" in message
    assert "KAGGLE_USERNAME" in message and str(tmp_path / "raw") in message


def test_kaggle_download_uses_the_official_client(tmp_path, monkeypatch):
    # Kaggle cannot be reached from here: a fake `kaggle.api.kaggle_api_extended` stands in for the
    # official client and writes the dataset's layout where the real one would unzip it.
    calls = []

    class FakeApi:
        def authenticate(self):
            calls.append("authenticate")

        def dataset_download_files(self, dataset, path, unzip, quiet):
            calls.append((dataset, unzip))
            fake_places(Path(path), per_split=1)

    module = types.ModuleType("kaggle.api.kaggle_api_extended")
    module.KaggleApi = FakeApi
    monkeypatch.setitem(sys.modules, "kaggle", types.ModuleType("kaggle"))
    monkeypatch.setitem(sys.modules, "kaggle.api", types.ModuleType("kaggle.api"))
    monkeypatch.setitem(sys.modules, "kaggle.api.kaggle_api_extended", module)
    monkeypatch.setenv("KAGGLE_USERNAME", "someone")
    monkeypatch.setenv("KAGGLE_KEY", "secret-key")
    splits = sources.locate_places(tmp_path / "raw", progress=False)
    assert calls == ["authenticate", ("pankajkumar2002/places365", True)]
    assert [len(splits[s]) for s in ("train", "val", "test")] == [1, 1, 1]


@pytest.mark.slow
def test_the_filter_agrees_with_the_photo_sets_labels_and_catches_toned_prints():
    """The team's photo set in the repo labels its near-grayscale and toned photos (CREDITS.csv, colour =
    no). prepare's own verdict sets aside few colour photos (precision), finds most of the labelled ones
    (recall: the faintest labelled photos measure like the palest colour ones, and pale colour is kept),
    and catches toned prints made from the colour photos, which the previous rule (a*b* spread) mostly
    missed. Figures: benchmarks/gray_detector.py, BENCHMARKS.md."""
    from chromatic_charm.data.detector import measure

    result = measure(REPO / "Data" / "Raw Data" / "photos")
    assert (result["photos"], result["marked"]) == (506, 55)
    assert result["precision"] >= 0.9 and result["recall"] >= 0.8, result
    assert len(result["colour_set_aside"]) <= 3, result["colour_set_aside"]
    assert result["toned_prints"] > 1000 and result["toned_recall"] >= 0.99, result["toned_missed"][:5]


def test_a_muted_colour_photo_is_kept_and_its_toned_print_is_not():
    """Only the tint makes a sepia: a pale photo of many hues stays; the same photo toned is set aside."""
    from chromatic_charm.data.detector import toned
    from chromatic_charm.data.prepare import colour_verdict

    checks = PrepareConfig().checks()
    rng = np.random.default_rng(3)
    base = rng.normal(0, 1, (8, 8, 3))
    muted = Image.fromarray(np.clip(128 + 30 * base.mean(axis=2, keepdims=True) + 9 * base, 0, 255).astype(np.uint8)).resize((96, 96))
    reason, detail, stats = colour_verdict(muted, checks)
    assert reason is None and 5 < stats["chroma_mean"] < 25 and stats["hue_spread"] > 30, (detail, stats)
    for tone in ("sepia", "cyanotype"):
        reason, detail, stats = colour_verdict(toned(muted, tone, 16), checks)
        assert reason == "sepia" and stats["hue_spread"] < 6 and "one tint" in detail, (tone, stats)


def test_the_report_records_paths_relative_to_the_project_not_this_machines(tmp_path, monkeypatch):
    project = tmp_path / "project"
    (project / "photos").mkdir(parents=True)
    for i in range(5):
        photo(200 + i).save(project / "photos" / f"p{i}.jpg")
    monkeypatch.setenv("CHROMATIC_CHARM_ROOT", str(project))
    monkeypatch.chdir(project)
    prepare(PrepareConfig(source=str(project / "photos"), out_dir=project / "clean", size=64, min_size=64,
                          val_frac=0.2, test_frac=0.2, progress=False, workers=1))
    report = json.loads((project / "clean" / "report.json").read_text())
    manifest = json.loads((project / "clean" / "manifest.json").read_text())
    assert (report["source"], report["root"], report["out_dir"]) == ("photos", "photos", "clean")
    assert manifest["source"] == "photos"
    assert str(tmp_path) not in json.dumps(report) + json.dumps(manifest)


def test_the_pipelines_data_is_in_the_repo_with_a_credit_for_every_photo():
    """A fresh clone runs `dvc repro` with no download: params.yaml's data.source is a folder git tracks,
    every photo in it has its CREDITS.csv row (source, licence, the colour label), and it stays small."""
    import subprocess

    import yaml

    source = yaml.safe_load((REPO / "params.yaml").read_text())["data"]["source"]
    folder = REPO / source
    tracked = subprocess.run(["git", "ls-files", "--", source], cwd=REPO, capture_output=True, text=True,
                             check=True).stdout.splitlines()
    photos = sorted(p.name for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    with open(folder / "CREDITS.csv", newline="") as f:
        credits = {row["file"]: row for row in csv.DictReader(f)}
    assert len(photos) == 506 and set(photos) == set(credits)
    assert all(credits[p]["licence"] and credits[p]["colour"] in ("yes", "no") for p in photos)
    assert {f"{source}/{p}" for p in photos} <= set(tracked), "the photo set must be in git, not only on this disk"
    assert sum((folder / p).stat().st_size for p in photos) < 20e6


def test_prepare_from_a_script_on_stdin_finishes(tmp_path):
    """`python - <<EOF` with prepare in it: a fork server's children cannot re-import a script read from stdin
    (they died and the pool waited for ever); prepare checks the photos in the calling process instead."""
    import subprocess

    (tmp_path / "photos").mkdir()
    for i in range(6):
        photo(310 + i).save(tmp_path / "photos" / f"p{i}.jpg")
    script = ("from chromatic_charm.data.prepare import PrepareConfig, prepare\n"
              f"r = prepare(PrepareConfig(source={str(tmp_path / 'photos')!r}, out_dir={str(tmp_path / 'clean')!r}, "
              "size=32, min_size=64, val_frac=0.2, test_frac=0.2, workers=2, progress=False))\n"
              "print('kept', r['counts']['kept'])\n")
    result = subprocess.run([sys.executable, "-"], input=script, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "kept 6" in result.stdout, result.stderr[-2000:]


def test_prepare_never_forks_the_process_that_calls_it(tmp_path, monkeypatch):
    """A forked copy of a process with threads (a Jupyter kernel, a web server, a test worker) can inherit a
    lock that another thread held, and wait for it for ever: an xdist worker hung so in prepare, both pool
    children stuck importing scipy.fft. The pool starts from a fork server (a fresh single-threaded process);
    here os.fork in this process fails, and prepare still checks every photo in two workers."""
    import os

    def no_fork():
        raise AssertionError("prepare forked the process that called it")

    monkeypatch.setattr(os, "fork", no_fork)
    (tmp_path / "photos").mkdir()
    for i in range(6):
        photo(300 + i).save(tmp_path / "photos" / f"p{i}.jpg")
    prepare(PrepareConfig(source=str(tmp_path / "photos"), out_dir=tmp_path / "clean", size=64, min_size=64,
                          val_frac=0.2, test_frac=0.2, progress=False, workers=2))
    report = json.loads((tmp_path / "clean" / "report.json").read_text())
    assert report["counts"]["scanned"] == 6 and report["counts"]["kept"] == 6, report["counts"]
