"""Where an Optuna-searched study keeps its Optuna study: beside the MLflow runs, so it can
be inspected (`optuna-dashboard URL`) and resumed.

MLflow and Optuna each version their schema in a table named `alembic_version`, so they
cannot share one namespace: on PostgreSQL Optuna gets the `optuna` schema of the MLflow
database, on SQLite a file `optuna.db` beside `mlflow.db`. A launch that logs to a tracking
server cannot see the server's database: it uses `--optuna-storage`, else `optuna.db` in
the working directory. Any other store needs `--optuna-storage`."""

from pathlib import Path

from study import sqlite_lock
from study.spec import StudyError

SCHEMA = "optuna"


def storage_url(tracking_uri: str, explicit: str | None = None) -> str:
    if explicit:
        return explicit
    if (path := sqlite_lock.sqlite_path(tracking_uri)) is not None:
        return f"sqlite:///{path.parent / 'optuna.db'}"
    if tracking_uri.startswith("postgresql"):
        return in_schema(tracking_uri)
    if tracking_uri.startswith(("http://", "https://")):
        return f"sqlite:///{Path.cwd().resolve() / 'optuna.db'}"
    raise StudyError(f"no Optuna storage beside the tracking store {tracking_uri.split('://')[0]}://...: "
                     "give --optuna-storage URL (a database Optuna can own, e.g. sqlite:///optuna.db)")


def in_schema(url: str) -> str:
    """The same database, Optuna's own schema (created if missing)."""
    import sqlalchemy

    parsed = sqlalchemy.engine.make_url(url)
    engine = sqlalchemy.create_engine(parsed)
    try:
        with engine.begin() as connection:
            connection.execute(sqlalchemy.text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
    finally:
        engine.dispose()
    return parsed.update_query_dict({"options": f"-csearch_path={SCHEMA}"}).render_as_string(hide_password=False)


def shown(url: str) -> str:
    """The URL without its password, for tags and messages."""
    import sqlalchemy

    return sqlalchemy.engine.make_url(url).render_as_string(hide_password=True)


def rdb_storage(url: str):
    import optuna

    with sqlite_lock.opening(url):  # two launches may start together in one folder
        return optuna.storages.RDBStorage(url)
