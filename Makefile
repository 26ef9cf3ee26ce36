# A thin convenience layer over CMake; .ci/quickstart is the real entry point.
.PHONY: all test suite clean format
all:
	cmake -S . -B build >/dev/null && cmake --build build -j
test:
	bash .ci/quickstart test
suite:
	bash .ci/quickstart suite
format:
	git ls-files '*.c' '*.h' | xargs clang-format -i
clean:
	rm -rf build build-ci build-fuzz
