/*
 * src/engine/sanitizers.h - UIN_TSAN, defined (to 1) when built with
 * ThreadSanitizer, with gcc (__SANITIZE_THREAD__) or clang
 * (__has_feature), for the code and tests that must behave differently
 * under it.
 */
#ifndef UIN_ENGINE_SANITIZERS_H
#define UIN_ENGINE_SANITIZERS_H

#if defined(__SANITIZE_THREAD__)
#define UIN_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UIN_TSAN 1
#endif
#endif

#endif
