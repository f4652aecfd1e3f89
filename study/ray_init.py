"""Starting Ray for a launch: a local Ray of its own, or joining a cluster. Kept apart from
study.runner, which imports Ray Tune, MLflow and torch, so that `study.launch` can start a
local Ray while those imports run."""

import ray


def start_ray(address: str | None) -> None:
    """Local Ray, or join a cluster. On a cluster the driver's own code goes to every
    node with the job (Ray's `py_modules`), so trials run exactly the commit the parent
    run records, whatever version a node has installed."""
    if ray.is_initialized():
        return
    if address:
        import analysis
        import search_spaces
        import study
        import trainables
        modules = [analysis, search_spaces, study, trainables]
        ray.init(address=address, log_to_driver=True, runtime_env={"py_modules": modules,
                                                                  "excludes": ["__pycache__", "*.pyc"]})
    else:
        # "local": a Ray of its own, even where `ray start` left a cluster running (which a
        # bare ray.init() would join, and share with whatever else runs there). No
        # prestarted workers (Ray's internal settings): Ray starts one per CPU when the
        # driver connects, the trials' actors start workers of their own and never use
        # them (the commit that added this setting has the A/B timings).
        ray.init(address="local", include_dashboard=False, log_to_driver=True,
                 _system_config={"enable_worker_prestart": False, "prestart_worker_first_driver": False})
