# Installing the C library the way C, C++, Java and C# developers expect (issue 17): the header,
# libhaoyuan.so.MAJOR.MINOR.PATCH with its libhaoyuan.so.MAJOR (SONAME) and libhaoyuan.so links,
# libhaoyuan.a, haoyuan.pc for pkg-config and a CMake package (haoyuan::haoyuan,
# haoyuan::haoyuan_static). ffi/README.md, "Installing", says how to use them.
#
#   make install       build the release library (INSTALL_BUILD below), then install under
#                      $(DESTDIR)$(PREFIX) (PREFIX=/usr/local; LIBDIR=$(PREFIX)/lib and
#                      INCLUDEDIR=$(PREFIX)/include can be set too), libraries stripped of debug
#                      info, with a manifest in $(PREFIX)/share/haoyuan/install_manifest.txt
#   make uninstall     remove what the manifest lists (same PREFIX, LIBDIR, DESTDIR), then the
#                      directories install made, if empty
#   make test-install  install into $(CARGO_TARGET_DIR or target)/install-test, build and run
#                      consumers from that prefix alone (C with pkg-config, C++ with CMake, static
#                      links), stage one with DESTDIR, uninstall both, check that nothing is left
#                      (part of `make test`)
#
# The steps are in ffi/install/install.sh; the templates beside it.

PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
INSTALL_RELEASE_DIR := $(abspath $(or $(CARGO_TARGET_DIR),target))/release
INSTALL_TEST_DIR := $(abspath $(or $(CARGO_TARGET_DIR),target))/install-test
# What libhaoyuan.a needs from the system (Rust's std on Linux): the output of
#   cargo rustc -p haoyuan-ffi --release --crate-type staticlib -- --print native-static-libs
# (checked with Rust 1.95 on x86_64 Linux). Goes into Libs.private of haoyuan.pc and the
# haoyuan::haoyuan_static target.
INSTALL_STATIC_LIBS := -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
# The C library alone: its cdylib and staticlib, without the rlib that only the Rust tests and
# benches link. Built so, every crate under it is compiled for link-time optimisation only, as
# for the Python module's cdylib (maturin), so the two share one release build of the engine
# and its dependencies; with the rlib, cargo also gives each dependency object code, a build of
# its own (`make test` compiled the release engine twice, ~2.5 CPU-minutes more). The same
# libraries come out as from `cargo build --release -p haoyuan-ffi`. ci/lib/ffi-langs.sh builds
# the same way.
INSTALL_BUILD = $(CARGO) rustc --release -p haoyuan-ffi --lib --crate-type cdylib --crate-type staticlib
INSTALL_ENV = PREFIX='$(PREFIX)' LIBDIR='$(LIBDIR)' INCLUDEDIR='$(INCLUDEDIR)' DESTDIR='$(DESTDIR)'

.PHONY: install uninstall test-install
TEST_TARGETS += test-install

install:
	$(INSTALL_BUILD)
	@$(INSTALL_ENV) HY_RELEASE_DIR='$(INSTALL_RELEASE_DIR)' HY_STATIC_LIBS='$(INSTALL_STATIC_LIBS)' \
	  bash ffi/install/install.sh install

uninstall:
	@$(INSTALL_ENV) bash ffi/install/install.sh uninstall

test-install:
	@command -v cmake >/dev/null && command -v pkg-config >/dev/null && command -v c++ >/dev/null \
	  || bash ci/lib/apt-install.sh cmake pkg-config g++
	MAKE='$(MAKE)' bash tests/install/run.sh $(INSTALL_TEST_DIR)
