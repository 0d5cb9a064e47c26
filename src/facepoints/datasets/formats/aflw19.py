"""AFLW-19 as distributed by HRNet (``face_landmarks_aflw_{train,test,test_frontal}.csv``).

Header ``image_name,scale,box_size,center_w,center_h,original_0_x,...,original_18_y``:
the HRNet CSV layout plus ``box_size``, the face box side used to normalise AFLW NME.
"""
from __future__ import annotations

from pathlib import Path

from ..records import FaceRecord
from ._common import format_error
from .hrnet_csv import read_hrnet_csv


def read_aflw19_csv(path: str | Path, images_root: str | Path | None = None,
                    one_based: bool = False) -> list[FaceRecord]:
    """AFLW-19 records (scheme ``aflw19``); ``attributes["box_size"]`` is the NME normaliser.

    Coordinates are taken as HRNet gives them (0-based pixels, see `read_hrnet_csv`);
    the frontal test subset is its own CSV file in HRNet's release.
    """
    records = read_hrnet_csv(path, images_root=images_root, scheme="aflw19", one_based=one_based)
    for number, rec in enumerate(records, start=1):
        if len(rec.landmarks) != 19:
            raise format_error(path, None, f"record {number}: {len(rec.landmarks)} points, AFLW-19 has 19")
        if "box_size" not in rec.attributes:
            raise format_error(path, 1, "AFLW-19 CSV needs a box_size column")
    return records
