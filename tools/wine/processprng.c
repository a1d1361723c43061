// bcryptprimitives.dll for Wine 8.0, test use only.
//
// Go's Windows runtime (since Go 1.22) takes its random bytes from ProcessPrng in
// bcryptprimitives.dll, which Windows 10+ ships and Wine 8.0 (Debian 12) lacks, so every Go
// program dies at start under that Wine. This DLL exports ProcessPrng and fills the buffer
// from RtlGenRandom (advapi32!SystemFunction036), which Wine has. tools/wine/run-tests.sh
// builds it with mingw-w64 and puts it in the Wine prefix's System32, the only place Go
// loads it from. Never ship it: real Windows has the genuine DLL.
#include <windows.h>

#define RtlGenRandom SystemFunction036
BOOLEAN NTAPI RtlGenRandom(PVOID buf, ULONG len);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
	while (len > 0) {
		ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
		if (!RtlGenRandom(data, n)) return FALSE;
		data += n;
		len -= n;
	}
	return TRUE;
}
