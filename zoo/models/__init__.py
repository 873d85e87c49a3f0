"""Architecture builders; importing this package registers them."""

from zoo.models.aitm import aitm
from zoo.models.cross_stitch import cross_stitch
from zoo.models.esmm import esmm
from zoo.models.mixture import mmoe, omoe
from zoo.models.ple import cgc, ple
from zoo.models.shared_bottom import shared_bottom
from zoo.models.single_task import single_task
from zoo.registry import register_model

for _builder in (single_task, shared_bottom, omoe, mmoe, cgc, ple, esmm, aitm, cross_stitch):
    register_model(_builder.__name__, _builder)

__all__ = ["aitm", "cgc", "cross_stitch", "esmm", "mmoe", "omoe", "ple", "shared_bottom", "single_task"]
