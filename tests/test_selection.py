"""select's rules on runs written straight into the local MLflow store (no training needed): the
lowest FID wins; the fallback metric is used, and said, only when no run has an FID; --candidates
restricts the choice to the pipeline's own runs; a sweep's parent run is never a candidate."""

from __future__ import annotations

import json

import pytest

from chromatic_charm.errors import UserError
from chromatic_charm.selection import select


@pytest.fixture
def experiment(isolated_project):
    from mlflow.tracking import MlflowClient

    from chromatic_charm import tracking

    tracking.use_target()
    client = MlflowClient()
    exp = client.create_experiment("select-tests")
    ids = {}
    for name, metrics in {"a": {"test_ciede2000": 10.0, "val_l1": 0.2},
                          "b": {"test_ciede2000": 12.0, "val_l1": 0.1},
                          "c": {"test_ciede2000": 11.0, "val_l1": 0.3}}.items():
        run = client.create_run(exp, run_name=name)
        for key, value in metrics.items():
            client.log_metric(run.info.run_id, key, value)
        client.set_terminated(run.info.run_id)
        ids[name] = run.info.run_id
    parent = client.create_run(exp, run_name="sweep-parent", tags={"sweep": "parent"})
    client.set_terminated(parent.info.run_id)
    return client, ids


def test_without_any_fid_the_fallback_is_used_and_recorded(experiment):
    _, ids = experiment
    with pytest.warns(UserWarning, match="no candidate run has 'test_fid'.*Inception"):
        out = select("select-tests", fallback_metric="test_ciede2000", register=False)
    assert out["run_id"] == ids["a"] and out["fallback_used"] and out["metric"] == "test_ciede2000"
    assert out["requested_metric"] == "test_fid" and out["mode"] == "min"
    assert [name for _, name, _ in out["ranked"]] == ["a", "c", "b"]  # the parent run is not a candidate


def test_one_run_with_an_fid_beats_better_ciede2000_and_no_fallback(experiment):
    client, ids = experiment
    client.log_metric(ids["b"], "test_fid", 42.0)
    out = select("select-tests", fallback_metric="test_ciede2000", register=False)
    assert out["run_id"] == ids["b"] and not out["fallback_used"] and out["value"] == 42.0


def test_without_fallback_a_missing_fid_is_an_error_that_says_why(experiment):
    with pytest.raises(UserError, match=r"has the metric 'test_fid'; evaluate runs first \(without --no-fid"):
        select("select-tests", register=False)


def test_runs_evaluated_on_different_n_or_networks_are_not_compared(experiment):
    client, ids = experiment
    for name, fid, n, network in (("a", 40.0, 110, "net-1"), ("b", 42.0, 110, "net-1"), ("c", 41.0, 22, "net-1")):
        for key, value in {"test_fid": fid, "test_images": n, "test_photos": 22, "test_crops": n // 22}.items():
            client.log_metric(ids[name], key, value)
        client.set_tag(ids[name], "test_fid_network", network)
    with pytest.raises(UserError) as err:
        select("select-tests", register=False)
    message = str(err.value)
    assert "evaluated on different terms" in message and "N = 22 images (22 photos x 1 views)" in message
    assert "re-evaluate them with the same --crops, --max-images and FID network" in message
    client.log_metric(ids["c"], "test_images", 110)
    client.log_metric(ids["c"], "test_crops", 5)
    client.set_tag(ids["c"], "test_fid_network", "net-2")
    with pytest.raises(UserError, match="network: net-2"):
        select("select-tests", register=False)
    client.set_tag(ids["c"], "test_fid_network", "net-1")
    out = select("select-tests", register=False)
    assert out["run_id"] == ids["a"] and out["compared_on"] == "N = 110 images (22 photos x 5 views), network: net-1"
    assert out["table"].startswith("All runs compared on the same terms: N = 110 images")


def test_candidates_restrict_the_choice_to_the_named_runs(experiment, tmp_path):
    _, ids = experiment
    for name in ("b", "c"):
        (tmp_path / f"{name}.json").write_text(json.dumps({"run_id": ids[name], "metrics": {}}))
    with pytest.warns(UserWarning):
        out = select("select-tests", fallback_metric="test_ciede2000", candidates=[tmp_path], register=False)
    assert out["run_id"] == ids["c"] and {r for r, _, _ in out["ranked"]} == {ids["b"], ids["c"]}


def test_run_ids_restrict_the_choice_too(experiment):
    _, ids = experiment
    with pytest.warns(UserWarning):
        out = select("select-tests", fallback_metric="test_ciede2000", run_ids=[ids["b"]], register=False)
    assert out["run_id"] == ids["b"] and len(out["ranked"]) == 1


def test_candidates_naming_an_unknown_run_or_no_file_are_errors(experiment, tmp_path):
    (tmp_path / "x.json").write_text(json.dumps({"run_id": "0" * 32}))
    with pytest.raises(UserError, match="not finished runs of 'select-tests'"):
        select("select-tests", fallback_metric="test_ciede2000", candidates=[tmp_path / "x.json"], register=False)
    with pytest.raises(UserError, match="no evaluation files"):
        select("select-tests", candidates=[tmp_path / "empty"], register=False)
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(UserError, match="not an evaluation file"):
        select("select-tests", candidates=[tmp_path / "bad.json"], register=False)


def test_kid_is_shown_beside_fid_and_a_disagreement_beyond_its_spread_is_said(experiment):
    client, ids = experiment
    for name, fid, kid, std in (("a", 40.0, 0.020, 0.002), ("b", 42.0, 0.010, 0.002), ("c", 44.0, 0.019, 0.002)):
        for key, value in {"test_fid": fid, "test_kid": kid, "test_kid_std": std}.items():
            client.log_metric(ids[name], key, value)
    with pytest.warns(UserWarning, match="test_fid and test_kid disagree beyond KID's spread: test_fid picks a"):
        out = select("select-tests", register=False)
    assert out["run_id"] == ids["a"]  # FID still chooses, as the course asks
    assert "test_kid picks b (0.0100 ± 0.0020)" in out["kid_disagrees"]
    assert "| a |  |  | 40.0000 | 0.0200 ± 0.0020 |" in out["table"]
    client.log_metric(ids["b"], "test_kid", 0.016)  # 0.004 apart, within 2 x sqrt(2) x 0.002 = 0.0057
    out = select("select-tests", register=False)
    assert out["kid_disagrees"] is None


def test_close_up_scores_are_shown_beside_fid_and_a_disagreement_is_said(experiment):
    """FID still picks; a candidate whose close-ups beat the grayscale input where the champion's are worse
    than it (by the intervals each run logged from evaluate's scales) is flagged."""
    client, ids = experiment
    closeups = {"a": ((+1.5, +0.6, +2.4), (+2.0, +1.1, +2.9)),   # worse than gray beyond the spread
                "b": ((-0.4, -0.9, +0.1), (-0.2, -0.8, +0.4)),   # no difference
                "c": ((+0.9, +0.2, +1.6), (+0.3, -0.3, +0.9))}   # worse at 1/2 of the side
    for name, fid in (("a", 40.0), ("b", 42.0), ("c", 44.0)):
        client.log_metric(ids[name], "test_fid", fid)
        for scale, (value, low, high) in zip((2, 3), closeups[name]):
            key = f"test_ciede2000_scale{scale}_vs_gray"
            for suffix, v in (("", value), ("_lo", low), ("_hi", high)):
                client.log_metric(ids[name], key + suffix, v)
            client.log_metric(ids[name], f"test_ciede2000_scale{scale}", 12 + value)
    with pytest.warns(UserWarning, match="test_fid and the close-ups disagree: test_fid picks a, whose close-ups "
                                         "are worse than the grayscale input's beyond the spread"):
        out = select("select-tests", register=False)
    assert out["run_id"] == ids["a"]  # the course's rule still chooses
    assert "b's are no different from the grayscale input's (tiles of 1/2 of the side -0.40 [-0.90, +0.10]" \
        in out["closeups_disagree"]
    assert "| val_l1 | tiles of 1/2 of the side | tiles of 1/3 of the side |  |" in out["table"]
    assert "| a |  |  | 40.0000 |  | 0.2000 | +1.50 [+0.60, +2.40] | +2.00 [+1.10, +2.90] | champion |" in out["table"]
    assert out["closeups"]["c"]["worst"] == "worse" and out["closeups"]["b"]["scale3"]["verdict"] == "no difference"
    # the champion's close-ups as good as the best candidate's: nothing to say
    for suffix, v in (("", -0.5), ("_lo", -1.0), ("_hi", 0.2)):
        for scale in (2, 3):
            client.log_metric(ids["a"], f"test_ciede2000_scale{scale}_vs_gray{suffix}", v)
    assert select("select-tests", register=False)["closeups_disagree"] is None
