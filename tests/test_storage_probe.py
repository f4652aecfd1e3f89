"""`storage.ensure_writable` when several launches start at once on one new directory: the
probe of one must not remove the directory under another (two launches into one store, as
tests/test_tracking_concurrency.py starts them)."""

from concurrent.futures import ThreadPoolExecutor

from study import storage

LAUNCHES = 8
ROUNDS = 40


def test_launches_probing_one_new_directory_at_once_all_pass_and_leave_no_probe(tmp_path):
    for round_ in range(ROUNDS):
        root = tmp_path / f"round{round_}" / "ray_results"
        with ThreadPoolExecutor(LAUNCHES) as pool:
            failures = [f.exception() for f in [pool.submit(storage.ensure_writable, str(root))
                                                 for _ in range(LAUNCHES)]]
        assert [str(f) for f in failures if f is not None] == []
        assert not root.exists() or list(root.iterdir()) == []


def test_a_directory_that_was_there_stays_with_its_files(tmp_path):
    (tmp_path / "kept.txt").write_text("mine")
    storage.ensure_writable(str(tmp_path))
    assert [p.name for p in tmp_path.iterdir()] == ["kept.txt"]


def test_a_new_directory_is_removed_again(tmp_path):
    storage.ensure_writable(str(tmp_path / "new" / "ray_results"))
    assert not (tmp_path / "new" / "ray_results").exists()
