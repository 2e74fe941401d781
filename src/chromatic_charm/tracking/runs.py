"""Reading runs back: one run, the finished runs of an experiment, a sweep's parent run."""

from __future__ import annotations

from ..errors import UserError
from .target import connect, use_target

SWEEP_TAG = "sweep"  # a sweep's parent run has the tag sweep=parent; it holds no model
SWEEP_PARENT = "parent"


def get_run(run_id: str):
    """The MLflow run (params, metrics, tags) from the tracking target; MLflow's own error if it fails."""
    import mlflow

    use_target()
    return mlflow.get_run(run_id)


def is_sweep_parent(run) -> bool:
    return run.data.tags.get(SWEEP_TAG) == SWEEP_PARENT


def finished_runs(experiment: str, run_ids=None) -> list:
    """The finished runs of ``experiment`` that hold a model (a sweep's parent does not), or only
    ``run_ids`` among them; a UserError naming the store when the experiment or one of the runs is not there."""
    from mlflow.tracking import MlflowClient

    target = use_target()
    client = MlflowClient()
    found = client.get_experiment_by_name(experiment)
    if found is None:
        raise UserError(f"no MLflow experiment '{experiment}' in {target.display}: train first (or `dvc repro`), "
                        "pass --experiment, or point MLFLOW_TRACKING_URI / DAGSHUB_REPO at the store that has it")
    runs = client.search_runs([found.experiment_id], filter_string="attributes.status = 'FINISHED'", max_results=5000)
    runs = [r for r in runs if not is_sweep_parent(r)]
    if run_ids is not None:
        wanted = set(run_ids)
        runs = [r for r in runs if r.info.run_id in wanted]
        missing = wanted - {r.info.run_id for r in runs}
        if missing:
            raise UserError(f"run(s) {', '.join(sorted(missing))} are not finished runs of '{experiment}' in "
                            f"{target.display}: re-run them (`dvc repro`), or point MLFLOW_TRACKING_URI / "
                            "DAGSHUB_REPO at the store that has them")
    return runs


def experiment_id(experiment: str) -> str:
    """The id of ``experiment`` (created if missing) on the tracking target."""
    return connect(experiment)[1]


def start_sweep(experiment: str, name: str, grid: str) -> str:
    """A sweep's parent run (tagged sweep=parent, the grid as a param); returns its run id."""
    from mlflow.tracking import MlflowClient

    experiment = experiment_id(experiment)  # connects first: the client takes the URI it sets
    client = MlflowClient()
    parent = client.create_run(experiment, run_name=name, tags={SWEEP_TAG: SWEEP_PARENT})
    client.log_param(parent.info.run_id, "grid", grid)
    return parent.info.run_id


def end_run(run_id: str, status: str = "FINISHED") -> None:
    from mlflow.tracking import MlflowClient

    use_target()
    MlflowClient().set_terminated(run_id, status=status)


def metric_history(run_id: str, keys) -> dict[str, list[tuple[int, float]]]:
    """Every logged (step, value) of each of ``keys`` that the run has."""
    from mlflow.tracking import MlflowClient

    use_target()
    client = MlflowClient()
    out = {}
    for key in keys:
        history = client.get_metric_history(run_id, key)
        if history:
            out[key] = [(h.step, h.value) for h in history]
    return out
