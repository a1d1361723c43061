#!/usr/bin/env bash
# Unpacks Mesa 25.0's lavapipe (Vulkan 1.4) from Debian bookworm-backports into DIR (default
# .drivers/mesa25) without installing it: Debian 12's own Mesa 22.3 stays the system driver.
# Prints nothing but errors when DIR is already set up. Use the driver with
#   VK_ICD_FILENAMES=$DIR/lvp_icd.json LD_LIBRARY_PATH=$DIR/lib
# (tools/drivers/env.sh mesa25 prints those).
set -euo pipefail
dir=${1:-.drivers/mesa25}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
[ -f "$dir/lvp_icd.json" ] && exit 0
sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo

src=/etc/apt/sources.list.d/bookworm-backports.sources
if ! grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/; then
  echo "adding bookworm-backports to apt's sources (priority 100: nothing installed changes)"
  printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' | $sudo tee "$src" >/dev/null
  $sudo apt-get update -qq
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
( cd "$tmp" && chmod 777 . && apt-get download -qq mesa-vulkan-drivers/bookworm-backports libdrm2/bookworm-backports \
    libdrm-amdgpu1/bookworm-backports )
for deb in "$tmp"/*.deb; do dpkg -x "$deb" "$dir/root"; done
arch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
lib="$dir/root/usr/lib/$arch"
[ -f "$lib/libvulkan_lvp.so" ] || { echo "mesa25: libvulkan_lvp.so not found in the packages" >&2; exit 1; }
ln -sfn "$lib" "$dir/lib"
# The packaged ICD file names the library by its installed path; point it at ours.
sed "s|\"library_path\": *\"[^\"]*\"|\"library_path\": \"$lib/libvulkan_lvp.so\"|" \
  "$(ls "$dir"/root/usr/share/vulkan/icd.d/lvp_icd*.json | head -1)" > "$dir/lvp_icd.json"
echo "Mesa 25 lavapipe in $dir: $(ls "$tmp" | tr '\n' ' ')"
