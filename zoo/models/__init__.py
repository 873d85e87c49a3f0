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

# Dense multi-task vision (segmentation, depth, normals).
from zoo.models.dense import dense_shared, dense_single_task  # noqa: E402
from zoo.models.dense_cross_stitch import dense_cross_stitch  # noqa: E402
from zoo.models.dense_mtan import dense_mtan  # noqa: E402

for _builder in (dense_shared, dense_mtan, dense_cross_stitch, dense_single_task):
    register_model(_builder.__name__, _builder, family="vision")

__all__ += ["dense_cross_stitch", "dense_mtan", "dense_shared", "dense_single_task"]
