#!/usr/bin/env python3
"""Builds the sysfs trees that upstream ships in other shapes (see README.md).

Run from this directory with the path of ../shared/fixtures/ib:
    python3 mktrees.py /work/shared/fixtures/ib
"""
import json, os, shutil, sys

src = sys.argv[1]

def write(path, content):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(content)

# gpud PR #943: a real ConnectX-7 counters/ dump ("name value" lines). The
# PR shows no state/rate files: a 4X NDR link is assumed (documented).
root = "trees/gpud_cx7"
shutil.rmtree(root, ignore_errors=True)
port = root + "/class/infiniband/mlx5_1/ports/1"
with open(os.path.join(src, "misc-samples/gpud_pr943_cx7_counters.txt")) as f:
    for line in f:
        line = line.strip()
        if not line or line.startswith("#") or line.startswith("/"):
            continue
        name, value = line.split()
        write(port + "/counters/" + name, value + "\n")
write(root + "/class/infiniband/mlx5_1/board_id", "MT_0000000838\n")
write(root + "/class/infiniband/mlx5_1/fw_ver", "28.41.1000\n")
write(port + "/state", "4: ACTIVE\n")
write(port + "/phys_state", "5: LinkUp\n")
write(port + "/rate", "400 Gb/sec (4X NDR)\n")
write(port + "/link_layer", "InfiniBand\n")

# facebookresearch/gcm: JSON maps of /sys/bus/pci/devices/<bdf>/infiniband/...
# rewritten to devices/pci0000:<bus>/<bdf>/infiniband/..., with the class
# and bus links a kernel makes. Only the RDMA device files are kept.
for name in ("learn_ib_intf_bad_rate", "learn_good"):
    root = "trees/gcm_" + name.removeprefix("learn_")
    shutil.rmtree(root, ignore_errors=True)
    with open(os.path.join(src, "facebookresearch-gcm", name + ".json")) as f:
        files = json.load(f)
    for path, content in sorted(files.items()):
        parts = path.split("/")
        # /sys/bus/pci/devices/<bdf>/infiniband/<dev>/...
        if len(parts) < 8 or parts[2:5] != ["bus", "pci", "devices"] or parts[6] != "infiniband":
            continue
        bdf, dev, rest = parts[5], parts[7], parts[8:]
        if rest and rest[0] == "ports" and len(rest) > 2 and rest[2] not in (
                "rate", "state", "phys_state", "link_layer", "counters", "hw_counters"):
            continue
        if not rest or rest[0] not in ("ports", "node_guid", "sys_image_guid", "board_id", "fw_ver", "hca_type", "node_type"):
            continue
        devdir = "devices/pci0000:%s/%s" % (bdf[5:7], bdf)
        write(os.path.join(root, devdir, "infiniband", dev, *rest), content)
        cls = os.path.join(root, "class/infiniband", dev)
        if not os.path.islink(cls):
            os.makedirs(os.path.dirname(cls), exist_ok=True)
            os.symlink(os.path.join("../..", devdir, "infiniband", dev), cls)
            os.symlink("../../../" + bdf, os.path.join(root, devdir, "infiniband", dev, "device"))
        bus = os.path.join(root, "bus/pci/devices", bdf)
        if not os.path.islink(bus):
            os.makedirs(os.path.dirname(bus), exist_ok=True)
            os.symlink(os.path.join("../../..", devdir), bus)
