// `sana-video compare A B [--tensor NAME] [--tol T]`: parity check between two safetensors files
// with the project's metric (max |a - b| <= tol * max |b|). Exit 0 when every compared tensor passes.
#include <cmath>
#include <cstdio>

#include "io/safetensors.h"
#include "args.h"

namespace sv::cli {

int compare(const std::vector<std::string>& argv) {
  const std::string cmd = "compare";
  SV_CHECK(argv.size() >= 2, cmd, ": usage: compare A.safetensors B.safetensors [--tensor NAME] [--tol T]");
  Args args({argv.begin() + 2, argv.end()}, {"--tensor", "--tol"}, cmd);
  const io::TensorSource a = io::TensorSource::open(argv[0]), b = io::TensorSource::open(argv[1]);
  double tol = 1e-4;
  if (args.has("--tol")) {
    try {
      tol = std::stod(args.get("--tol", cmd));
    } catch (const std::exception&) {
      SV_THROW(cmd, ": --tol expects a number");
    }
  }
  std::vector<std::string> names = args.has("--tensor") ? args.get_all("--tensor") : b.names();
  bool ok = true;
  for (const std::string& spec : names) {
    // "NAME" compares NAME in both files; "A:B" compares A in the first with B in the second.
    const size_t colon = spec.find(':');
    const std::string n = colon == std::string::npos ? spec : spec.substr(0, colon);
    const std::string m = colon == std::string::npos ? spec : spec.substr(colon + 1);
    SV_CHECK(a.has(n), argv[0], ": no tensor '", n, "'");
    SV_CHECK(b.has(m), argv[1], ": no tensor '", m, "'");
    const auto x = a.get(n).to_vector(), y = b.get(m).to_vector();
    SV_CHECK(x.size() == y.size(), cmd, ": '", n, "' has ", x.size(), " vs ", y.size(), " elements");
    double md = 0, mr = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      const double d = std::fabs(double(x[i]) - y[i]);
      md = std::isnan(d) ? INFINITY : std::max(md, d);
      mr = std::max(mr, std::fabs(double(y[i])));
    }
    const bool pass = md <= tol * mr;
    ok = ok && pass;
    std::printf("%-40s max|diff| %.3e  max|ref| %.3e  ratio %.3e  %s\n", spec.c_str(), md, mr, mr > 0 ? md / mr : md,
                pass ? "ok" : "FAIL");
  }
  return ok ? 0 : 1;
}

}  // namespace sv::cli
