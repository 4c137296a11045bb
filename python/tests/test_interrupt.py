"""Ctrl-C stops a run at once, and it leaves nothing behind."""

import _thread
import threading
import time

import pytest

import exosim


def test_ctrl_c_abandons_a_long_run(studies, tmp_path):
    # A tissue study that takes about a minute.
    study = exosim.Study.from_toml(studies / "dish_uptake.toml")
    timer = threading.Timer(1.0, _thread.interrupt_main)
    started = time.monotonic()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        study.run()
    assert time.monotonic() - started < 5.0
    assert list(tmp_path.iterdir()) == []
    # The abandoned run stops at its next progress report: no core stays busy.
    time.sleep(0.5)
    cpu = time.process_time()
    time.sleep(1.0)
    assert time.process_time() - cpu < 0.15
    # The package still works after an interrupted run.
    assert exosim.Study.from_toml(studies / "mouse_iv_bolus.toml").run().summary["study"] == "mouse_iv_bolus"



def test_the_gil_is_released_while_a_run_works(studies):
    study = exosim.Study.from_toml(studies / "screening_tissue_tumour.toml")
    done = []
    worker = threading.Thread(target=lambda: done.append(study.run(threads=1)))
    worker.start()
    time.sleep(0.1)
    count, until = 0, time.monotonic() + 0.3
    while time.monotonic() < until:
        count += 1
    running = worker.is_alive()
    worker.join()
    assert running, "the run ended too soon to tell"
    assert count > 10_000
    assert done[0].summary["study"]


def test_progress_is_told_on_the_calling_thread_and_can_stop_the_run(studies):
    seen = []
    caller = threading.get_ident()

    def tell(fraction):
        assert threading.get_ident() == caller
        seen.append(fraction)

    exosim.Study.from_toml(studies / "screening_tissue_tumour.toml").run(progress=tell)
    assert seen[-1] == 1.0 and seen == sorted(seen) and len(seen) >= 2

    class Enough(Exception):
        pass

    def stop(fraction):
        if fraction > 0.0:
            raise Enough

    started = time.monotonic()
    with pytest.raises(Enough):
        exosim.Study.from_toml(studies / "dish_uptake.toml").run(progress=stop)
    assert time.monotonic() - started < 10.0
