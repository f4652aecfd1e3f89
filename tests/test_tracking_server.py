"""`python -m study.tracking` on a real PostgreSQL backend, a smoke study logged through
it with 4 concurrent trials, and what the MLflow UI shows of it in headless Chromium."""

import shutil

import pytest
from mlflow import MlflowClient

from tests.servers import REPO, start_postgres, start_tracking_server
from tests.test_launch import SHORT, child_runs, launch, launch_record
from trainables.data import EMOTIONS

VARIANTS = ("none-zhu_cnn", "classical-zhu_cnn")


@pytest.fixture(scope="module")
def postgres_url():
    yield from start_postgres()


@pytest.fixture(scope="module")
def server(postgres_url, tmp_path_factory):
    root = tmp_path_factory.mktemp("server")
    yield from start_tracking_server(postgres_url, root / "artifacts", root / "server.log")


@pytest.fixture(scope="module")
def served_launch(server, tmp_path_factory):
    """classical_augmentation at smoke size: 2 arms × 2 seeds, all 4 trials at once."""
    cwd = tmp_path_factory.mktemp("launch")
    out = launch("classical_augmentation", "--tracking-uri", server, "--set", "seed=[0, 1]", "--max-concurrent", "4",
                 "--cpus-per-trial", "0.5", *SHORT, cwd=cwd, store=False)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    record = launch_record(cwd)
    client = MlflowClient(server)
    children = child_runs(client, record)
    return client, record, children


def test_every_concurrent_trial_has_one_finished_run_with_its_metrics(served_launch, postgres_url):
    client, record, children = served_launch
    assert record["tracking_uri"].startswith("http://127.0.0.1:")
    assert len(children) == 4 and {r.info.status for r in children} == {"FINISHED"}
    assert len({r.data.tags["ferlab.trial_id"] for r in children}) == 4
    assert sorted(r.info.run_name for r in children) == sorted(f"{v} fold0 seed{s}" for v in VARIANTS for s in (0, 1))
    for run in children:
        metrics = run.data.metrics
        assert {"test_acc", "test_macro_f1"} <= set(metrics)
        # the tables' number: test accuracy at the epoch chosen on validation
        assert metrics["test_acc"] == metrics["test/acc_at_best_val"] and 0 <= metrics["test_acc"] <= 1
        per_class = {k[len("test_acc_"):] for k in metrics if k.startswith("test_acc_")}
        assert len(per_class) >= 3 and per_class <= set(EMOTIONS)
        assert all(metrics[f"test_acc_{c}"] == metrics[f"test/acc_{c}_at_best_val"] for c in per_class)
        assert len(client.get_metric_history(run.info.run_id, "val/acc")) == 3  # one point per epoch
        assert run.data.params["augment"] in ("none", "classical") and run.data.params["epochs"] == "3"
    # the runs are in PostgreSQL, not only behind the server
    import sqlalchemy

    engine = sqlalchemy.create_engine(postgres_url)
    with engine.connect() as db:
        count = db.execute(sqlalchemy.text("SELECT count(*) FROM runs WHERE experiment_id = :e"),
                           {"e": int(record["experiment_id"])}).scalar()
    engine.dispose()
    assert count == 5  # the parent and its 4 trials


def test_parent_holds_the_regenerated_table_and_the_search_box_filters_by_variant(served_launch):
    client, record, children = served_launch
    attached = {a.path for a in client.list_artifacts(record["parent_run_id"], "report/classical_augmentation")}
    assert {"report/classical_augmentation/classical_augmentation.md",
            "report/classical_augmentation/classical_augmentation.csv"} <= attached
    table = client.download_artifacts(record["parent_run_id"], "report/classical_augmentation/classical_augmentation.md")
    assert "classical" in open(table).read()
    found = client.search_runs([record["experiment_id"]], filter_string="tags.variant = 'classical-zhu_cnn'")
    assert sorted(r.data.params["seed"] for r in found) == ["0", "1"]


# Chromium with everything that would reach past loopback switched off.
CHROMIUM_ARGS = ["--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-default-apps", "--disable-domain-reliability", "--disable-client-side-phishing-detection",
                 "--no-first-run", "--no-default-browser-check", "--metrics-recording-only", "--no-sandbox"]
SCREENSHOTS = REPO / "test-artifacts" / "browser"  # kept after the run, for people and CI to look at


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("no system Chromium (Debian's chromium package; .ci/run installs it)")
    return found


def test_mlflow_ui_compares_two_variants_of_the_launch(served_launch, server):
    from playwright.sync_api import sync_playwright

    client, record, children = served_launch
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        outside = []
        page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(server) else None)
        try:
            page.goto(f"{server}/#/experiments")
            page.get_by_text("Model training").first.click()
            page.get_by_text("classical_augmentation").first.click()
            page.locator('[data-component-id="mlflow.assistant.chat_panel.close"]').click()
            parent = page.locator("[role=row]", has_text=record["name"]).first
            parent.locator('[col-id="attributes.`Run Name`"] button').first.click()  # unfold its child runs
            for variant in VARIANTS:
                child = page.locator("[role=row]", has_text=f"{variant} fold0 seed0").first
                child.wait_for()
                child.locator(".ag-selection-checkbox").click()
            page.screenshot(path=SCREENSHOTS / "runs.png")
            page.get_by_role("button", name="Compare").click()
            page.get_by_text("Comparing 2 Runs").wait_for()
            page.locator(".ReactVirtualized__Grid", has_text="best_epoch").first.wait_for()
            page.screenshot(path=SCREENSHOTS / "compare.png", full_page=True)
            text = page.inner_text("body")
            metrics = metric_names_shown(page)
            page.screenshot(path=SCREENSHOTS / "compare_metrics.png", full_page=True)
        finally:
            browser.close()
    for shown in (*(f"{v} fold0 seed0" for v in VARIANTS), "augment", "epochs", "ferlab.variant"):
        assert shown in text, shown
    assert {"test_acc", "test_macro_f1", "test_acc_happy", "val/acc", "train/loss"} <= metrics
    assert outside == []  # the page asked nothing of any other host


def metric_names_shown(page) -> set[str]:
    """Every metric name the compare view lists. It renders them in a virtualised grid (only
    the rows in view exist), so the grid is scrolled through, gathering the names."""
    grid = page.locator(".ReactVirtualized__Grid", has_text="best_epoch").first.element_handle()
    seen: set[str] = set()
    while True:
        seen.update(grid.evaluate("g => g.innerText").splitlines())
        if grid.evaluate("g => g.scrollTop + g.clientHeight >= g.scrollHeight - 1"):
            return seen
        grid.evaluate("g => { g.scrollTop += 200; g.dispatchEvent(new Event('scroll')); }")
        page.wait_for_timeout(250)


def test_optuna_studies_get_their_own_schema_in_the_tracking_database(postgres_url, server):
    import optuna
    import sqlalchemy

    from study.optuna_storage import storage_url

    url = storage_url(postgres_url)  # the database MLflow's server uses, schema "optuna"
    study = optuna.create_study(study_name="ferlab-schema-check", storage=url)
    study.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=3)
    assert len(optuna.load_study(study_name="ferlab-schema-check", storage=url).trials) == 3
    engine = sqlalchemy.create_engine(postgres_url)
    with engine.connect() as db:
        schemas = dict(db.execute(sqlalchemy.text(
            "SELECT table_name, table_schema FROM information_schema.tables "
            "WHERE table_name IN ('studies', 'experiments')")).all())
        versions = db.execute(sqlalchemy.text(
            "SELECT table_schema FROM information_schema.tables WHERE table_name = 'alembic_version'")).scalars().all()
    engine.dispose()
    assert schemas == {"studies": "optuna", "experiments": "public"}
    assert sorted(versions) == ["optuna", "public"]  # each keeps its own schema version
    assert MlflowClient(server).search_experiments()  # MLflow's server still reads its tables
