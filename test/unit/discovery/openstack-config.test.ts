import { describe, expect, it } from "vitest";
import { cinderBackendFromConf, glanceStoreFromConf } from "../../../src/discovery/openstack-config.js";
import { CINDER_CONF_LVM, GLANCE_API_CONF_FILE } from "./fixtures/outputs.js";

describe("cinderBackendFromConf", () => {
  it("reads the lab's LVM backend and its volume group", () => {
    expect(cinderBackendFromConf(CINDER_CONF_LVM)).toEqual({
      backend: "lvm",
      location: "cinder-volumes",
      driver: "cinder.volume.drivers.lvm.LVMVolumeDriver",
    });
  });
  it("defaults to LVM on cinder-volumes when nothing is set (cinder's own defaults)", () => {
    expect(cinderBackendFromConf("[DEFAULT]\n")).toMatchObject({
      backend: "lvm",
      location: "cinder-volumes",
    });
  });
  it("reads the legacy single backend in [DEFAULT]", () => {
    const conf = "[DEFAULT]\nvolume_driver = cinder.volume.drivers.lvm.LVMVolumeDriver\nvolume_group = vg0\n";
    expect(cinderBackendFromConf(conf)).toMatchObject({ backend: "lvm", location: "vg0" });
  });
  it("calls NFS file-backed with its mount base", () => {
    const conf =
      "[DEFAULT]\nenabled_backends = nfs1\n[nfs1]\nvolume_driver = cinder.volume.drivers.nfs.NfsDriver\nnfs_mount_point_base = /var/lib/cinder/mnt\n";
    expect(cinderBackendFromConf(conf)).toMatchObject({ backend: "file", location: "/var/lib/cinder/mnt" });
  });
  it("calls Ceph, and mixed backends, other", () => {
    const ceph =
      "[DEFAULT]\nenabled_backends = ceph\n[ceph]\nvolume_driver = cinder.volume.drivers.rbd.RBDDriver\n";
    expect(cinderBackendFromConf(ceph).backend).toBe("other");
    const mixed =
      "[DEFAULT]\nenabled_backends = lvm, ceph\n[lvm]\nvolume_driver = cinder.volume.drivers.lvm.LVMVolumeDriver\n[ceph]\nvolume_driver = cinder.volume.drivers.rbd.RBDDriver\n";
    expect(cinderBackendFromConf(mixed).backend).toBe("other");
  });
});

describe("glanceStoreFromConf", () => {
  it("reads the file store and drops the trailing slash", () => {
    expect(glanceStoreFromConf(GLANCE_API_CONF_FILE)).toEqual({
      store: "file",
      imagesDir: "/var/lib/glance/images",
    });
  });
  it("defaults to the file store in /var/lib/glance/images", () => {
    expect(glanceStoreFromConf("")).toEqual({ store: "file", imagesDir: "/var/lib/glance/images" });
  });
  it("reads multi-store configs", () => {
    const conf =
      "[DEFAULT]\nenabled_backends = fast:file, ceph:rbd\n[glance_store]\ndefault_backend = fast\n[fast]\nfilesystem_store_datadir = /srv/images/\n";
    expect(glanceStoreFromConf(conf)).toEqual({ store: "file", imagesDir: "/srv/images" });
    const rbd = conf.replace("default_backend = fast", "default_backend = ceph");
    expect(glanceStoreFromConf(rbd)).toEqual({ store: "other" });
  });
  it("calls rbd and swift stores other", () => {
    expect(glanceStoreFromConf("[glance_store]\ndefault_store = rbd\n")).toEqual({ store: "other" });
  });
});
