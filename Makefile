# vilt-vk: ViLT inference on Vulkan compute.
#
#   make setup          install the Debian packages the project needs (Vulkan loader, lavapipe,
#                       validation layers, shader compiler)
#   make demo           build and run the main job
#   make test           the test suite (validation layer on) + race tests of the runtime
#   make generate       recompile shaders/*.comp to SPIR-V (needs glslc, spirv-val)
#   make bench-kernels  kernel benchmark table

GO       ?= go
BIN      ?= bin/vilt
SUDO     := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := mesa-vulkan-drivers libvulkan1 libvulkan-dev glslc spirv-tools \
                vulkan-validationlayers vulkan-tools

.PHONY: setup build demo test race generate check-shaders bench-kernels vet clean

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
	./$(BIN) devices

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
