# vilt-vk: ViLT inference on Vulkan compute.
#
#   make setup          install the Debian packages the project needs (Vulkan loader, lavapipe,
#                       validation layers, shader compiler)
#   make demo           build and run the main job (VQA on the shipped demo model)
#   make tinymodel      regenerate testdata/tiny-vilt-vqa, the demo model (random weights)
#   make test           the test suite (validation layer on) + race tests of the runtime
#   make generate       recompile shaders/*.comp to SPIR-V (needs glslc, spirv-val)
#   make bench-kernels  kernel benchmark table
#   make setup-cross    install the cross compilers, Wine and Xvfb (Windows and release builds)
#   make windows        cross-build bin/vilt.exe
#   make test-windows   run vilt.exe and the Windows test binaries under Wine on lavapipe
#   make release        vilt for linux/amd64, linux/arm64, windows/amd64 in dist/, SHA256SUMS

GO       ?= go
BIN      ?= bin/vilt
SUDO     := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := mesa-vulkan-drivers libvulkan1 libvulkan-dev glslc spirv-tools \
                vulkan-validationlayers vulkan-tools

.PHONY: setup build demo tinymodel test race generate check-shaders bench-kernels vet clean

setup:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	else echo "all packages present"; fi

build:
	$(GO) build -o $(BIN) ./cmd/vilt

demo: build
	./$(BIN) vqa --model testdata/tiny-vilt-vqa --image testdata/tiny-vilt-vqa/example.png --question "How many cats are there?"

# The demo model (random weights, generated vocabulary); deterministic output.
tinymodel:
	$(GO) run ./tools/tinymodel -out testdata/tiny-vilt-vqa

test:
	VILT_VK_VALIDATE=1 $(GO) test -count=1 ./...
	VILT_VK_VALIDATE=1 $(GO) test -count=1 -race ./gpu/...

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
