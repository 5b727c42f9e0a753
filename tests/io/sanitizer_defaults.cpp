// Sanitizer defaults for lnn_io_tests; they take effect only in a sanitizer
// build (scripts/test.sh's ASan + UBSan pass), and settings given in the
// environment still win. libhdf5 (not instrumented, not lnn's code) asks
// malloc for sizes read from a corrupted file (8 EB seen): without ASan malloc
// returns NULL and HDF5 reports an error, which lnn turns into a FileError,
// and that is what the corrupted-file tests (test_dataset_corrupt.cpp) check;
// ASan would abort instead. HDF5 1.10 also leaks a few bytes on some of those
// error paths; leaks inside libhdf5 are suppressed (as tests/fuzz/lsan.supp),
// silently, so a child's stderr holds only what lnn printed.
extern "C" const char* __asan_default_options();
extern "C" const char* __lsan_default_options();
extern "C" const char* __lsan_default_suppressions();

extern "C" const char* __asan_default_options() { return "allocator_may_return_null=1"; }
extern "C" const char* __lsan_default_options() { return "print_suppressions=0"; }
extern "C" const char* __lsan_default_suppressions() { return "leak:libhdf5\n"; }
