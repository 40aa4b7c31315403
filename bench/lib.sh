# Shared by the benchmark scripts (sourced).

# make_bag DIR ID MIB CASE_TYPE: a BagIt bag in DIR (External-Identifier ID) of
# MIB/16 files of 16 MiB and 2,000 files of 4 KiB, all from /dev/urandom (like
# scans, incompressible), with its sha256 manifest.
make_bag() {
	local dir=$1 id=$2 mib=$3 type=$4 i
	mkdir -p "$dir/data/large" "$dir/data/small"
	for i in $(seq 1 $((mib / 16))); do head -c $((16 << 20)) /dev/urandom > "$dir/data/large/scan-$i.bin"; done
	for i in $(seq 1 2000); do head -c 4096 /dev/urandom > "$dir/data/small/page-$i.bin"; done
	printf 'BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n' > "$dir/bagit.txt"
	(cd "$dir" && find data -type f | LC_ALL=C sort | xargs sha256sum > manifest-sha256.txt)
	printf 'External-Identifier: %s\nCase-Type: %s\n' "$id" "$type" > "$dir/bag-info.txt"
}
