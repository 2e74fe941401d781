"""The deliverables' shared numbers (chromatic_charm.story): one number convention, templates that never
show a placeholder, and comparisons that say "sin diferencia" when the interval holds zero."""

import json
import math

import numpy as np
import pytest
import yaml

from chromatic_charm import story


def test_numbers_follow_the_courses_convention():
    assert story.number(36000, 0) == "36,000" and story.number(0.0002, 4) == "0.0002"
    assert story.number(1234.567, 1) == "1,234.6" and story.number(float("nan")) == "no calculado"
    assert story.percent(0.605) == "60%" or story.percent(0.605) == "61%"  # banker's rounding of .5 either way
    assert story.percent(0.4849) == "48%" and story.percent(0.0123, 1) == "1.2%"
    assert story.signed(-0.8129) == "-0.81" and story.signed(0.94) == "+0.94"
    assert story.listing(["a", "b", "c"]) == "a, b y c" and story.listing(["a"]) == "a"


def test_fill_puts_facts_in_and_refuses_an_unknown_name():
    assert story.fill("FID {{champion.fid}} ({{ gray.fid }})", {"champion.fid": "72.3", "gray.fid": "89.1"}) == \
        "FID 72.3 (89.1)"
    assert story.fill("{{runs.lrG2e-4_lrD2e-4.fid}}", {"runs.lrG2e-4_lrD2e-4.fid": "72.3"}) == "72.3"  # sweep keys
    with pytest.raises(KeyError, match="champion.kid"):
        story.fill("KID {{champion.kid}}", {})


def test_a_difference_inside_its_interval_is_no_difference():
    rng = np.random.default_rng(0)
    a = rng.normal(10, 1, 200)
    same = story.paired(a, a + rng.normal(0, 0.01, 200), "ciede2000")
    assert same.verdict == "sin diferencia" and same.low <= 0 <= same.high
    lower = story.paired(a - 1, a, "ciede2000")
    assert lower.verdict == "mejor" and lower.value == pytest.approx(-1)  # CIEDE2000: lower is better
    assert story.paired(a - 1, a, "psnr").verdict == "peor"  # PSNR: higher is better
    # colourfulness: the outputs have half the truth's (21.6 against 46.4), so more is better
    assert story.paired(a + 1, a, "colourfulness").verdict == "mejor"
    assert lower.text() == "-1.00 [-1.00, -1.00]"
    with pytest.raises(ValueError, match="not the same photos"):
        story.paired(a, a[:10], "psnr")
    # KID: selection's rule, the gap against twice the combined std (0.0044 ± 0.0010 against 0.0055 ± 0.0011: 0.0011
    # apart, 0.0030 needed); the rule `select` applies, so the report never reads KID another way
    from chromatic_charm.selection import kid_spread

    assert kid_spread(0.0010, 0.0011) == pytest.approx(0.002973, abs=1e-6)
    assert story.kid_difference(0.0044, 0.0010, 0.0055, 0.0011).verdict == "sin diferencia"
    assert story.kid_difference(0.0044, 0.0010, 0.0260, 0.0018).verdict == "mejor"


def _write_run(root, key, run_id, metrics, per_photo, folder="evaluation"):
    (root / "metrics" / folder).mkdir(parents=True, exist_ok=True)
    (root / "metrics" / "curves").mkdir(parents=True, exist_ok=True)
    (root / "metrics" / folder / f"{key}.json").write_text(json.dumps(
        {"run_id": run_id, "photos": 4, "crops": 5, "fid_network": "net", "metrics": metrics}))
    (root / "metrics" / "curves" / f"{key}.json").write_text(json.dumps({"run_id": run_id, "per_photo": per_photo}))


def test_results_read_the_pipeline_and_compare_runs_photo_by_photo(tmp_path):
    sweep = {"a": {"lr_g": 2e-4, "lr_d": 2e-4, "lambda_l1": 1000, "seed": 0},
             "b": {"lr_g": 2e-4, "lr_d": 2e-4, "lambda_l1": 1000, "seed": 1},
             "c": {"lr_g": 2e-4, "lr_d": 2e-4, "lambda_l1": 100, "seed": 0},
             "d": {"lr_g": 1e-4, "lr_d": 3e-4, "lambda_l1": 1000, "seed": 0}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"sweep": sweep}))
    base = {"test_fid_baseline_gray": 89.09, "test_kid_baseline_gray": 0.026, "test_kid_baseline_gray_std": 0.002,
            "test_ciede2000_gray": 12.2, "test_ciede2000_vs_gray": -0.8, "test_ciede2000_vs_gray_lo": -1.8,
            "test_ciede2000_vs_gray_hi": 0.2, "test_kid_std": 0.001}
    photos = [10.0, 11.0, 12.0, 13.0]
    for i, key in enumerate(sweep):
        _write_run(tmp_path, key, f"id-{key}", {**base, "test_fid": 70.0 + i, "test_kid": 0.004 + i / 1000,
                                                "test_ciede2000": 11.5 + i / 10, "test_colourfulness": 20.0 + i},
                   {"ciede2000": [p + i / 10 for p in photos], "colourfulness": [20.0 + i] * 4})
    _write_run(tmp_path, "l1", "id-l1", {**base, "test_fid": 75.0, "test_kid": 0.0055, "test_ciede2000": 11.2,
                                         "test_colourfulness": 23.5},
               {"ciede2000": [p - 0.3 for p in photos], "colourfulness": [23.5, 20.0, 26.0, 24.0]}, folder="baseline")
    (tmp_path / "metrics" / "champion.json").write_text(json.dumps({"run_id": "id-a"}))
    model = tmp_path / "src" / "chromatic_charm" / "assets"
    model.mkdir(parents=True)
    (model / "generator.json").write_text("{}")

    res = story.results(tmp_path)
    assert res.champion == "a" and res.best.name == "pipeline-a" and res.l1.name == "pipeline-l1"
    assert [r.key for r in res.seeds()] == ["a", "b"] and [r.key for r in res.doses()] == ["c", "a"]
    d = res.compare("a", "l1", "ciede2000")
    assert d.value == pytest.approx(0.3) and d.verdict == "peor"  # the L1 run is closer to the truth on every photo
    assert res.compare("a", "l1", "kid").verdict == "sin diferencia"  # 0.004 ± 0.001 against 0.0055 ± 0.001
    facts = story.result_facts(res)
    assert facts["champion.fid"] == "70.0" and facts["l1.fid"] == "75.0" and facts["gray.fid"] == "89.1"
    assert facts["champion_vs_l1.ciede2000.verdict"] == "peor"
    assert facts["champion_vs_gray.ciede2000"] == "-0.80 [-1.80, +0.20]"
    assert facts["champion_vs_gray.ciede2000.verdict"] == "sin diferencia"
    assert facts["seeds.fid_range"] == "70.0 a 71.0" and facts["doses.list"] == "100 y 1,000"
    assert facts["runs.a.lambda_l1"] == "1,000" and facts["eval.images"] == "20"
    with pytest.raises(Exception, match="per-photo ssim"):
        res.compare("a", "l1", "ssim")


def test_the_validation_split_chooses_and_the_test_split_reports(tmp_path):
    """The pipeline's select ranks by val_fid (stage validate): the facts name that metric, the champion's place on the
    test split and how alike the two splits order the runs."""
    sweep = {k: {"lr_g": 2e-4, "lr_d": 2e-4, "lambda_l1": lam, "seed": 0} for k, lam in (("a", 100), ("b", 300), ("c", 1000))}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"sweep": sweep}))
    for key, test_fid, val_fid in (("a", 70.0, 92.0), ("b", 70.5, 91.0), ("c", 74.0, 95.0)):
        _write_run(tmp_path, key, f"id-{key}", {"test_fid": test_fid, "test_kid": 0.003, "test_kid_std": 0.001}, {})
        (tmp_path / "metrics" / "validation").mkdir(parents=True, exist_ok=True)
        (tmp_path / "metrics" / "validation" / f"{key}.json").write_text(json.dumps(
            {"run_id": f"id-{key}", "metrics": {"val_fid": val_fid, "val_kid": 0.005, "val_photos": 4, "val_images": 20}}))
    (tmp_path / "metrics" / "champion.json").write_text(json.dumps({"run_id": "id-b", "metric": "val_fid"}))
    (tmp_path / "src" / "chromatic_charm" / "assets").mkdir(parents=True)
    (tmp_path / "src" / "chromatic_charm" / "assets" / "generator.json").write_text("{}")

    res = story.results(tmp_path)
    assert res.selected_by == "val_fid" and res.selection_split == "val"
    assert [r.key for r in res.ranked()] == ["b", "a", "c"] and [r.key for r in res.ranked("test_fid")] == ["a", "b", "c"]
    assert res.best.m("fid", "val") == 91.0 and res.best.m("fid") == 70.5  # both splits on one run, no clash
    facts = story.selection_facts(res)
    assert facts["select.metric"] == "FID de validación" and facts["champion.test_rank"] == "2"
    assert facts["test.best"] == "pipeline-a" and facts["val.images"] == "20"
    assert facts["select.rank_correlation"] == "0.50"  # ranks (2, 1, 3) against (1, 2, 3)
    assert story.result_facts(res)["champion.val_fid"] == "91.0"
    # a validation file of another run (a re-trained item) is not merged into this one
    (tmp_path / "metrics" / "validation" / "c.json").write_text(json.dumps({"run_id": "old", "metrics": {"val_fid": 1.0}}))
    assert math.isnan(story.results(tmp_path).runs["c"].m("fid", "val"))
    assert story.selection_facts(story.results(tmp_path))["select.rank_correlation"] == "—"


def test_rank_correlation_is_spearmans():
    assert story.rank_correlation([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert story.rank_correlation([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert story.rank_correlation([1, 2, 2, 3], [1, 2, 3, 4]) == pytest.approx(0.9486833, abs=1e-6)  # a tie: mean ranks
    assert math.isnan(story.rank_correlation([1, 2], [1, 2])) and math.isnan(story.rank_correlation([1, 1, 1], [1, 2, 3]))


def test_the_showcase_is_the_best_the_median_and_the_worst_by_gain_over_gray():
    gray = [12.0, 12.0, 12.0, 12.0, 12.0, 12.0, 12.0]
    model = [10.0, 13.0, 11.5, 12.5, 5.0, 20.0, 12.0]  # gains 2, -1, 0.5, -0.5, 7, -8, 0
    run = story.Run("a", "pipeline-a", "id", {}, {"ciede2000_scale1": model, "ciede2000_scale1_gray": gray})
    picks = story.showcase(run)
    assert [p.label for p in picks] == ["mejor", "mejor", "mediana", "mediana", "peor", "peor"]
    assert [p.index for p in picks[:2]] == [4, 0] and [p.index for p in picks[-2:]] == [1, 5]
    assert picks[0].gain == 7 and picks[-1].gain == -8 and len({p.index for p in picks}) == 6
    small = story.showcase(story.Run("b", "b", "id", {}, {"ciede2000_scale1": model[:3], "ciede2000_scale1_gray": gray[:3]}))
    assert [p.label for p in small] == ["mejor", "mediana", "peor"]  # 3 photos: one of each


def test_a_kid_difference_shows_its_rules_threshold_not_an_interval():
    """KID's spread is select's threshold (twice the combined std), not a bootstrap interval: it reads so."""
    d = story.kid_difference(0.0027, 0.0010, 0.0055, 0.0011)
    assert d.text(4) == "-0.0028 (umbral ±0.0030)" and d.verdict == "sin diferencia"
    assert d.text(4, threshold="threshold") == "-0.0028 (threshold ±0.0030)"
    assert story.weight(1000) == "1,000" and story.weight(300.0) == "300" and story.weight(0.5) == "0.5"


def test_two_groups_of_photos_compare_with_an_unpaired_interval():
    """Test photos with a relative in training against the others: different photos, so each group is resampled on
    its own; the interval holds the difference of the means and reads like a paired one."""
    rng = np.random.default_rng(0)
    high, low = rng.normal(1.5, 0.5, 16), rng.normal(-0.2, 0.5, 30)
    d = story.between_groups(high, low, "gain")
    assert d.value == pytest.approx(high.mean() - low.mean()) and d.low < d.value < d.high
    assert d.low > 0 and d.verdict == "mejor"  # higher gain is better, and 1.7 apart is far beyond the spread
    same = story.between_groups(low[:15], low[15:], "ciede2000")
    assert same.low < 0 < same.high and same.verdict == "sin diferencia"
    with pytest.raises(ValueError, match="at least 2 photos"):
        story.between_groups([1.0], low, "gain")


def test_the_control_isolates_the_adversarial_loss(tmp_path):
    """metrics/control: the L1 model trained on as long without the discriminator; the facts compare the champion and
    every run with it, KID by select's rule, colour photo by photo, and say whether the adversarial phase gave colour."""
    sweep = {"a": {"lr_g": 2e-4, "lr_d": 2e-4, "lambda_l1": 300, "seed": 0},
             "b": {"lr_g": 2e-4, "lr_d": 2e-4, "lambda_l1": 1000, "seed": 0}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"sweep": sweep}))
    photos = [10.0, 11.0, 12.0, 13.0]
    for key, kid in (("a", 0.0024), ("b", 0.0050)):
        _write_run(tmp_path, key, f"id-{key}", {"test_fid": 70.0, "test_kid": kid, "test_kid_std": 0.0009},
                   {"ciede2000": photos, "colourfulness": [20.0, 21.0, 22.0, 23.0], "psnr": [22.0] * 4})
    _write_run(tmp_path, "l1_control", "id-c", {"test_fid": 75.0, "test_kid": 0.0055, "test_kid_std": 0.0010},
               {"ciede2000": [p - 0.2 for p in photos], "colourfulness": [24.0, 25.0, 26.0, 27.5], "psnr": [22.1] * 4},
               folder="control")
    (tmp_path / "metrics" / "champion.json").write_text(json.dumps({"run_id": "id-a", "metric": "val_fid"}))
    (tmp_path / "src" / "chromatic_charm" / "assets").mkdir(parents=True)
    (tmp_path / "src" / "chromatic_charm" / "assets" / "generator.json").write_text("{}")

    res = story.results(tmp_path)
    assert res.control is not None and res.control.run_id == "id-c" and res.run("control") is res.control
    facts = story.result_facts(res)
    assert facts["control.fid"] == "75.0" and facts["runs.below_control_fid"] == "2"
    assert facts["runs.kid_better_than_control_n"] == "1"  # 0.0024 is beyond the threshold (0.0027 apart); 0.0050 is not
    assert facts["champion_vs_control.kid.verdict"] == "mejor" and "umbral" in facts["champion_vs_control.kid"]
    assert "threshold" in facts["champion_vs_control.kid_en"]
    assert facts["champion_vs_control.colourfulness.verdict"] == "peor"  # 4.5 less colourful on every photo
    assert facts["champion_vs_control.colour_reading"] == "no dio más color"


def test_the_rates_are_read_against_the_seeds_spread_at_each_lambda():
    def run(key, lr_g, lr_d, lam, seed, val_fid, test_fid):
        return story.Run(key, key, key, {"val_fid": val_fid, "test_fid": test_fid},
                         settings={"lr_g": lr_g, "lr_d": lr_d, "lambda_l1": lam, "seed": seed})

    runs = [run("a", 1e-4, 3e-4, 1000, 0, 90.0, 70.0), run("b", 2e-4, 2e-4, 1000, 0, 91.0, 71.0),
            run("c", 3e-4, 1e-4, 1000, 0, 90.5, 70.5), run("s1", 2e-4, 2e-4, 1000, 1, 92.0, 72.0),
            run("s2", 2e-4, 2e-4, 1000, 2, 93.0, 71.5), run("d", 2e-4, 2e-4, 300, 0, 88.0, 69.0),
            run("e", 1e-4, 3e-4, 300, 0, 95.0, 75.0), run("f", 2e-4, 2e-4, 100, 0, 89.0, 70.0)]
    res = story.Results({r.key: r for r in runs}, None, "d", 46, 5)
    facts = story.rate_facts(res)
    assert facts["rates.lambdas"] == "1,000 y 300" and facts["rates.count"] == "2"  # lambda 100 has one pair only
    assert facts["rates.l1000.val_fid_range"] == "90.0 a 91.0" and facts["rates.l1000.val_fid_width"] == "1.0"
    assert facts["rates.l300.test_fid_range"] == "69.0 a 75.0" and facts["rates.l300.best"] == "0.0002 / 0.0002"
    assert facts["rates.seed_val_width"] == "2.0"  # 91 to 93 over the three seeds of the base recipe
    assert facts["rates.reading"] == ("las tasas mueven el FID de validación más que la semilla a λ = 300 (la dispersión "
                                      "entre semillas se midió a λ = 1,000)")
    assert facts["rates.val_detail"] == "de 90.0 a 91.0 a λ = 1,000 y de 88.0 a 95.0 a λ = 300"
    assert story.rate_facts(story.Results({"a": runs[0]}, None, "a", 46, 5))["rates.lambdas"] == "—"
    sweep = story.rate_sweep(res)  # what rate_facts words, as numbers for the report's headlines
    assert list(sweep.swept) == [1000.0, 300.0] and sweep.widths[(300.0, "val")] == pytest.approx(7.0)
    assert (sweep.best[300.0].settings["lr_g"], sweep.best[300.0].settings["lr_d"]) == (2e-4, 2e-4)
    assert sweep.seed_width["val"] == pytest.approx(2.0)


def test_the_seen_themes_effect_compares_test_photos_of_a_theme_in_training_with_the_others():
    import types

    import pandas as pd

    rows = [("train", "theme_1.jpg"), ("train", "theme_2.jpg"), ("train", "solo.jpg")]
    rows += [("test", f"theme_{i}.jpg") for i in range(3, 7)] + [("test", f"other{c}.jpg") for c in "abcd"]
    rng = np.random.default_rng(0)
    index = pd.DataFrame({"split": [s for s, _ in rows], "source": [n for _, n in rows],
                          "phash": [f"{v:016x}" for v in rng.integers(0, 2**63, len(rows))]})
    index["row"] = index.groupby("split").cumcount()
    data = types.SimpleNamespace(index=index, root=None)
    gray = [20.0] * 8
    model = [17.0, 17.5, 16.5, 17.0, 19.5, 20.5, 19.0, 20.0]  # the theme's 4 test photos gain about 3, the others 0
    run = story.Run("a", "a", "id-a", {}, {"ciede2000_scale1": model, "ciede2000_scale1_gray": gray})
    facts = story.seen_themes(story.Results({"a": run}, None, "a", 8, 1), data)
    assert facts["leak.related"] == "4" and facts["leak.others"] == "4"
    assert facts["leak.related_gain"] == "+3.00" and facts["leak.other_gain"] == "+0.25"
    assert facts["leak.verdict"] == "mayor en las de tema compartido" and "acierta más en los temas" in facts["leak.reading"]
    assert 0 <= int(facts["leak.min_distance"]) <= 64
    worse = story.Run("a", "a", "id-a", {}, {"ciede2000_scale1": model[4:] + model[:4], "ciede2000_scale1_gray": gray})
    facts = story.seen_themes(story.Results({"a": worse}, None, "a", 8, 1), data)
    assert facts["leak.verdict"] == "menor en las de tema compartido" and "acierta menos" in facts["leak.reading"]
    short = story.Run("a", "a", "id-a", {}, {"ciede2000_scale1": model[:3], "ciede2000_scale1_gray": gray[:3]})
    assert set(story.seen_themes(story.Results({"a": short}, None, "a", 3, 1), data).values()) == {"—"}


def test_every_sweep_item_gets_its_own_label():
    import yaml as _yaml

    sweep = _yaml.safe_load(open(__import__("pathlib").Path(__file__).resolve().parents[1] / "params.yaml"))["sweep"]
    labels = [story.run_label(v, 1000) for v in sweep.values()]
    assert len(set(labels)) == len(labels), labels
    assert story.run_label({"lr_g": 2e-4, "lr_d": 2e-4, "lambda_l1": 1000, "seed": 0}, 1000) == "receta base"
    assert story.run_label({"lr_g": 1e-4, "lr_d": 3e-4, "lambda_l1": 300, "seed": 0}, 1000) == "G 0.0001 / D 0.0003, λ = 300"
    assert story.run_label({"lr_g": 2e-4, "lr_d": 2e-4, "lambda_l1": 1000, "seed": 2}, 1000) == "semilla 2"
