# Warnings, sanitizers and the no-exceptions mode for smtpkit's OWN targets (tests, tools,
# benchmarks). Never applied to the INTERFACE targets: users' flags are theirs.
# SPDX-License-Identifier: MIT

function(smtpkit_apply_warnings target)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE
      -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion
      -Wimplicit-fallthrough -Wnon-virtual-dtor -Wold-style-cast)
    if(SMTPKIT_WERROR)
      target_compile_options(${target} PRIVATE -Werror)
    endif()
    if(SMTPKIT_SANITIZE)
      target_compile_options(${target} PRIVATE -fsanitize=${SMTPKIT_SANITIZE}
        -fno-sanitize-recover=all -fno-omit-frame-pointer)
      target_link_options(${target} PRIVATE -fsanitize=${SMTPKIT_SANITIZE})
    endif()
    if(SMTPKIT_NO_EXCEPTIONS)
      target_compile_options(${target} PRIVATE -fno-exceptions -fno-rtti)
    endif()
  endif()
endfunction()
