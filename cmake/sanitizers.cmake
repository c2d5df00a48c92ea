# ASan+UBSan for the whole tree. -fno-sanitize=function: clang-14 cannot
# instrument coroutine frames with it (see shared/toolchain.md, item 5).
if(SMTPSPEC_SANITIZE)
  set(_san -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    list(APPEND _san -fno-sanitize=function)
  endif()
  add_compile_options(${_san})
  add_link_options(${_san})
endif()

if(SMTPSPEC_FUZZ AND NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "SMTPSPEC_FUZZ needs clang (libFuzzer); use the 'fuzz' preset")
endif()
