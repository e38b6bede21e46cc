"""Lightning's routine INFO chatter is silenced; its warnings about user code are not."""
import logging
import warnings

from course.quiet import quiet_lightning


def test_lightning_info_is_quiet_but_warnings_still_show():
    quiet_lightning()
    log = logging.getLogger("pytorch_lightning.utilities.rank_zero")
    assert not log.isEnabledFor(logging.INFO) and log.isEnabledFor(logging.WARNING)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # every warning shows...
        quiet_lightning()  # ...but the one this silences
        warnings.warn("`isinstance(treespec, LeafSpec)` is deprecated, use ...", DeprecationWarning)
        warnings.warn("The number of training batches (8) is smaller than the logging interval", UserWarning)
    assert [str(w.message)[:31] for w in caught] == ["The number of training batches "]
