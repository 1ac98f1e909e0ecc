// churn_client NAME EXPECTED THREADS SECONDS: THREADS threads call getaddrinfo(NAME,
// AF_INET) in a loop for SECONDS, while the test changes the network under them. Prints
// one line per outcome kind with its count ("ok N", "EAI_AGAIN N", ...), and "wrong ADDR"
// for any answer that is not EXPECTED. Used by test_churn.cpp under the preload.
#include <arpa/inet.h>
#include <netdb.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s NAME EXPECTED THREADS SECONDS\n", argv[0]);
    return 2;
  }
  const std::string name = argv[1], expected = argv[2];
  const int threads = std::atoi(argv[3]);
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(std::atoi(argv[4]));
  std::mutex m;
  std::map<std::string, int> outcomes;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      while (std::chrono::steady_clock::now() < until) {
        addrinfo hints{};
        hints.ai_family = AF_INET;
        hints.ai_socktype = SOCK_STREAM;
        addrinfo* res = nullptr;
        const int rc = getaddrinfo(name.c_str(), "80", &hints, &res);
        std::string key;
        if (rc == 0) {
          key = "ok";
          for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
            char text[INET_ADDRSTRLEN] = "";
            inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr, text,
                      sizeof text);
            if (expected != text) key = std::string("wrong ") + text;
          }
          freeaddrinfo(res);
        } else {
          key = rc == EAI_AGAIN    ? "EAI_AGAIN"
                : rc == EAI_NONAME ? "EAI_NONAME"
                : rc == EAI_FAIL   ? "EAI_FAIL"
                                   : "error " + std::to_string(rc);
        }
        std::lock_guard lock(m);
        ++outcomes[key];
      }
    });
  }
  for (auto& t : pool) t.join();
  for (const auto& [k, n] : outcomes) std::printf("%s %d\n", k.c_str(), n);
  return 0;
}
