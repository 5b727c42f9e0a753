# One warning set for every target; -Werror unless LNN_WERROR is OFF.
function(lnn_set_warnings target)
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion>
    $<$<AND:$<COMPILE_LANGUAGE:CXX>,$<BOOL:${LNN_WERROR}>>:-Werror>
    # GCC 12 reports false positives inside libstdc++ at -O2/-O3 (GCC bugs
    # 105651, 105329, 106199); they are not about our code.
    $<$<AND:$<COMPILE_LANGUAGE:CXX>,$<CXX_COMPILER_ID:GNU>>:-Wno-restrict -Wno-free-nonheap-object -Wno-stringop-overflow -Wno-array-bounds>
    $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wall,-Wextra>
    $<$<AND:$<COMPILE_LANGUAGE:CUDA>,$<BOOL:${LNN_WERROR}>>:-Werror=all-warnings>)
endfunction()
