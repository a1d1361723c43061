# vilt-vk: ViLT inference on Vulkan compute.
#
#   make setup          install the Debian packages the project needs (Vulkan loader, lavapipe,
#                       validation layers, shader compiler; promtool for the metrics test)
#   make demo           build and run the main job (VQA on the shipped demo model)
#   make tinymodel      regenerate testdata/tiny-vilt-vqa, the demo model (random weights)
#   make test           the test suite (validation layer on) + race tests of the runtime, then
#                       the driver matrix (test-drivers)
#   make test-drivers   gpu, graph, vilt, serve and cmd/vilt tests on every other Vulkan driver
#                       within reach: test-swiftshader, test-lavapipe-128, test-lavapipe-512,
#                       test-mesa25 (each also prints the full-size model's batch-1 latency)
#   make generate       recompile shaders/*.comp to SPIR-V (needs glslc, spirv-val)
#   make bench-kernels  kernel benchmark table
#   make setup-cross    install the cross compilers, Wine and Xvfb (Windows and release builds)
#   make windows        cross-build bin/vilt.exe
#   make test-windows   run vilt.exe and the Windows test binaries under Wine on lavapipe
#   make release        vilt for linux/amd64, linux/arm64, windows/amd64 in dist/, SHA256SUMS
#   make gpu-report     one-shot report on this machine's Vulkan GPU (tests, kernel GFLOPS,
#                       vilt bench at batch 1/8/32 per precision) into $(REPORT); QUICK=1 for
#                       the short CI form; test-gpu-report runs that and checks the files

GO       ?= go
BIN      ?= bin/vilt
SUDO     := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := mesa-vulkan-drivers libvulkan1 libvulkan-dev glslc spirv-tools \
                vulkan-validationlayers vulkan-tools
# cmd/vilt/browser_test.go drives `vilt serve`'s page in headless Chromium.
APT_PACKAGES += chromium

.PHONY: setup build demo tinymodel test race generate check-shaders bench-kernels vet clean

setup:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	else echo "all packages present"; fi

# promtool lints the server's /metrics in the serve tests. Only that binary is unpacked from
# Debian's prometheus package into /usr/local/bin: installing the package would pull 96 MB and
# start a Prometheus server on :9090.
.PHONY: setup-promtool
setup: setup-promtool
setup-promtool:
	@if command -v promtool >/dev/null; then echo "promtool present"; else \
	  echo "installing promtool (from Debian's prometheus package)"; \
	  d=$$(mktemp -d) && chmod 0777 $$d && cd $$d && \
	  $(SUDO) apt-get update -qq && apt-get download -qq prometheus && \
	  dpkg-deb --fsys-tarfile prometheus_*.deb | tar -xO ./usr/bin/promtool > promtool && \
	  $(SUDO) install -m 0755 promtool /usr/local/bin/promtool && cd / && rm -rf $$d; fi

# -trimpath: no build-machine paths in the binary. -buildvcs=auto: stamp the git revision
# (`vilt version`) even where go env sets GOFLAGS=-buildvcs=false.
build:
	$(GO) build -trimpath -buildvcs=auto -o $(BIN) ./cmd/vilt

demo: build
	./$(BIN) vqa --model testdata/tiny-vilt-vqa --image testdata/tiny-vilt-vqa/example.png --question "How many cats are there?"

# The demo model (random weights, generated vocabulary); deterministic output.
tinymodel:
	$(GO) run ./tools/tinymodel -out testdata/tiny-vilt-vqa

test: test-unit test-drivers

test-unit:
	VILT_VK_VALIDATE=1 $(GO) test -count=1 ./...
	VILT_VK_VALIDATE=1 $(GO) test -count=1 -race ./gpu/...

# The driver matrix. Each driver runs the packages that touch the device, with validation on;
# the browser tests are left to test-unit (they test the page, not the driver). Then the
# full-size synthetic model's batch-1 latency on that driver.
DRIVER_PKGS  := ./gpu/... ./graph/... ./vilt/... ./serve/... ./cmd/vilt/...
DRIVER_TEST   = VILT_VK_VALIDATE=1 $(GO) test -count=1 -skip 'InBrowser' $(DRIVER_PKGS)
DRIVER_BENCH  = $(GO) run ./cmd/vilt bench --synthetic --batch 0 --runs 1 --profile=false
SWIFTSHADER  ?= $(abspath ../shared/swiftshader)
MESA25_DIR   ?= $(abspath .drivers/mesa25)
MESA25_ENV    = VK_ICD_FILENAMES=$(MESA25_DIR)/lvp_icd.json LD_LIBRARY_PATH=$(MESA25_DIR)/lib

.PHONY: test-unit test-drivers test-swiftshader test-lavapipe-128 test-lavapipe-512 test-mesa25 mesa25
test-drivers: test-swiftshader test-lavapipe-128 test-lavapipe-512 test-mesa25

# SwiftShader is not packaged by Debian: point SWIFTSHADER at a build of it (a folder holding
# vk_swiftshader_icd.json); without one the target says so and passes.
test-swiftshader:
	@if [ -f "$(SWIFTSHADER)/vk_swiftshader_icd.json" ]; then \
	  echo "== SwiftShader ($(SWIFTSHADER))"; \
	  export VK_ICD_FILENAMES="$(SWIFTSHADER)/vk_swiftshader_icd.json"; \
	  $(DRIVER_TEST) && $(DRIVER_BENCH); \
	else echo "== SwiftShader: skipped, no $(SWIFTSHADER)/vk_swiftshader_icd.json (set SWIFTSHADER=DIR)"; fi

# Debian's lavapipe with 4- and 16-lane subgroups (128- and 512-bit vectors).
test-lavapipe-128 test-lavapipe-512: test-lavapipe-%:
	@echo "== lavapipe, LP_NATIVE_VECTOR_WIDTH=$*"
	LP_NATIVE_VECTOR_WIDTH=$* $(DRIVER_TEST)
	LP_NATIVE_VECTOR_WIDTH=$* $(DRIVER_BENCH)

# Mesa 25.0's lavapipe (Vulkan 1.4) from bookworm-backports, unpacked beside the tree.
mesa25:
	tools/drivers/mesa25.sh $(MESA25_DIR)

test-mesa25: mesa25
	@echo "== Mesa 25 lavapipe ($(MESA25_DIR))"
	$(MESA25_ENV) $(DRIVER_TEST)
	$(MESA25_ENV) $(DRIVER_BENCH)

race:
	VILT_VK_VALIDATE=1 $(GO) test -count=1 -race ./...

generate:
	$(GO) generate ./shaders

check-shaders:
	$(GO) run ./tools/spirv -dir shaders -check

.PHONY: bench
bench-kernels:
	$(GO) test -run '^$$' -bench 'GEMM|Attention' -benchtime 5x ./graph/

bench: build
	./$(BIN) bench --synthetic

vet:
	$(GO) vet ./...

clean:
	rm -rf bin build dist

# --- Cross builds: Windows (tested under Wine) and release binaries ---
# gpu/ includes <vulkan/vulkan.h> and loads the loader at run time, so a cross build needs only
# the headers. libvulkan-dev's headers are the same for every target, but cross compilers do
# not search /usr/include: build/vkinclude holds just the Vulkan header folders.
CROSS_PACKAGES := gcc-mingw-w64-x86-64 gcc-aarch64-linux-gnu libc6-dev-arm64-cross \
                  wine wine64 xvfb xauth curl
CROSS_CFLAGS   := -O2 -g -I$(CURDIR)/build/vkinclude
WINDOWS_ENV    := GOOS=windows GOARCH=amd64 CGO_ENABLED=1 CC=x86_64-w64-mingw32-gcc CGO_CFLAGS="$(CROSS_CFLAGS)"
ARM64_ENV      := GOOS=linux GOARCH=arm64 CGO_ENABLED=1 CC=aarch64-linux-gnu-gcc CGO_CFLAGS="$(CROSS_CFLAGS)"

.PHONY: setup-cross cross-include windows test-windows release

setup-cross:
	@$(MAKE) --no-print-directory setup APT_PACKAGES="$(CROSS_PACKAGES)"

cross-include:
	@test -f /usr/include/vulkan/vulkan.h || { echo "no /usr/include/vulkan (make setup)"; exit 1; }
	@mkdir -p build/vkinclude
	@ln -sfn /usr/include/vulkan build/vkinclude/vulkan
	@ln -sfn /usr/include/vk_video build/vkinclude/vk_video

windows: cross-include
	$(WINDOWS_ENV) $(GO) build -trimpath -o bin/vilt.exe ./cmd/vilt

test-windows: build windows
	tools/wine/run-tests.sh

# Each binary needs only the C library (Windows: system DLLs) at run time; tools/checkdeps
# fails the build otherwise.
release: cross-include
	rm -rf dist && mkdir -p dist
	CGO_ENABLED=1 $(GO) build -trimpath -o dist/vilt-linux-amd64 ./cmd/vilt
	$(ARM64_ENV) $(GO) build -trimpath -o dist/vilt-linux-arm64 ./cmd/vilt
	$(WINDOWS_ENV) $(GO) build -trimpath -o dist/vilt-windows-amd64.exe ./cmd/vilt
	cd dist && sha256sum vilt-linux-amd64 vilt-linux-arm64 vilt-windows-amd64.exe >SHA256SUMS
	$(GO) run ./tools/checkdeps dist/vilt-linux-amd64 dist/vilt-linux-arm64 dist/vilt-windows-amd64.exe
	cat dist/SHA256SUMS
	rm -rf bin

# The one-shot GPU report (tools/gpureport): picks the first GPU-type device, else the CPU
# driver, and writes report.md, report.json and raw logs to $(REPORT).
REPORT ?= gpu-report
.PHONY: gpu-report test-gpu-report
gpu-report:
	$(GO) run ./tools/gpureport -out $(REPORT) $(if $(QUICK),-quick)

# CI: the quick report into a temporary folder, then a check that its files exist and parse.
test-gpu-report:
	@d=$$(mktemp -d) && trap 'rm -rf "$$d"' EXIT && \
	  { $(GO) run ./tools/gpureport -quick -out "$$d/report" || { cat "$$d/report/report.md"; exit 1; }; } && \
	  $(GO) run ./tools/gpureport -check "$$d/report"
