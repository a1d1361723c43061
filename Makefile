# vilt-vk: ViLT inference on Vulkan compute.
#
#   make setup          install the Debian packages the project needs (Vulkan loader, lavapipe,
#                       validation layers, shader compiler; promtool for the metrics test)
#   make demo           build and run the main job (VQA on the shipped demo model)
#   make tinymodel      regenerate testdata/tiny-vilt-vqa, the demo model (random weights)
#   make test           the test suite (validation layer on) + race tests of the runtime
#   make generate       recompile shaders/*.comp to SPIR-V (needs glslc, spirv-val)
#   make bench-kernels  kernel benchmark table

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
	rm -rf bin
