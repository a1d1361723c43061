package deploy

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"

	"github.com/vilt-vk/vilt-vk/serve"
)

const manifestRoot = "kubernetes"

// alternatives are manifests kept next to a kustomization without being in it (the
// documented swap-ins).
var alternatives = map[string]bool{"kubernetes/hpa-queue-depth.yaml": true}

// kustomization is the part of kustomize's Kustomization the manifests use (decoded
// strictly as well: a field kustomize does not know would be a typo).
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Resources  []string `json:"resources"`
	Images     []struct {
		Name    string `json:"name"`
		NewName string `json:"newName,omitempty"`
		NewTag  string `json:"newTag,omitempty"`
	} `json:"images,omitempty"`
}

// kinds maps apiVersion/kind to the Kubernetes API type the document must decode into.
var kinds = map[string]func() any{
	"apps/v1/Deployment":                            func() any { return &appsv1.Deployment{} },
	"v1/Service":                                    func() any { return &corev1.Service{} },
	"v1/PersistentVolumeClaim":                      func() any { return &corev1.PersistentVolumeClaim{} },
	"autoscaling/v2/HorizontalPodAutoscaler":        func() any { return &autoscalingv2.HorizontalPodAutoscaler{} },
	"policy/v1/PodDisruptionBudget":                 func() any { return &policyv1.PodDisruptionBudget{} },
	"batch/v1/Job":                                  func() any { return &batchv1.Job{} },
	"kustomize.config.k8s.io/v1beta1/Kustomization": func() any { return &kustomization{} },
}

// objects is every decoded document, by file.
type objects struct {
	byFile map[string][]any
}

func (o *objects) all() []any {
	var out []any
	for _, f := range slices.Sorted(func(yield func(string) bool) {
		for k := range o.byFile {
			if !yield(k) {
				return
			}
		}
	}) {
		out = append(out, o.byFile[f]...)
	}
	return out
}

func get[T any](t *testing.T, o *objects, file string) *T {
	t.Helper()
	for _, x := range o.byFile[file] {
		if v, ok := x.(*T); ok {
			return v
		}
	}
	t.Fatalf("%s holds no %T", file, new(T))
	return nil
}

var docSep = regexp.MustCompile(`(?m)^---\s*$`)

// loadManifests decodes every YAML document under kubernetes/ strictly into its API type.
func loadManifests(t *testing.T) *objects {
	t.Helper()
	o := &objects{byFile: map[string][]any{}}
	err := filepath.WalkDir(manifestRoot, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if ext := filepath.Ext(path); ext != ".yaml" && ext != ".yml" {
			t.Errorf("%s: not a .yaml file", path)
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, doc := range docSep.Split(string(b), -1) {
			if strings.TrimSpace(regexp.MustCompile(`(?m)^\s*#.*$`).ReplaceAllString(doc, "")) == "" {
				continue
			}
			var tm metav1.TypeMeta
			if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
				t.Errorf("%s document %d: %v", path, i, err)
				continue
			}
			mk, ok := kinds[tm.APIVersion+"/"+tm.Kind]
			if !ok {
				t.Errorf("%s document %d: unexpected %s %s", path, i, tm.APIVersion, tm.Kind)
				continue
			}
			obj := mk()
			if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
				t.Errorf("%s document %d (%s): %v", path, i, tm.Kind, err)
				continue
			}
			o.byFile[filepath.ToSlash(path)] = append(o.byFile[filepath.ToSlash(path)], obj)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if t.Failed() {
		t.FailNow()
	}
	return o
}

// TestManifestsDecodeStrictly: unknown fields (typos, fields of another API version) fail
// here rather than at kubectl apply; every file belongs to its folder's kustomization.
func TestManifestsDecodeStrictly(t *testing.T) {
	o := loadManifests(t)
	listed := map[string]bool{}
	for file, objs := range o.byFile {
		k, ok := objs[0].(*kustomization)
		if !ok {
			continue
		}
		dir := filepath.Dir(file)
		for _, r := range k.Resources {
			p := filepath.ToSlash(filepath.Join(dir, r))
			if _, ok := o.byFile[p]; !ok {
				t.Errorf("%s lists %s, which is not a manifest here", file, r)
			}
			listed[p] = true
		}
		if len(k.Images) != 1 || k.Images[0].Name != "vilt-vk" {
			t.Errorf("%s: want one images entry for vilt-vk, have %+v", file, k.Images)
		}
	}
	for file, objs := range o.byFile {
		if _, isK := objs[0].(*kustomization); isK {
			continue
		}
		if !listed[file] && !alternatives[file] {
			t.Errorf("%s is in no kustomization", file)
		}
		for _, x := range objs {
			if ps := podSpec(x); ps != nil {
				for _, c := range append(slices.Clone(ps.InitContainers), ps.Containers...) {
					if c.Image != "vilt-vk" {
						t.Errorf("%s: container %s runs %q, want vilt-vk (kustomize sets the registry)", file, c.Name, c.Image)
					}
				}
			}
		}
	}
	if len(o.byFile) < 8 {
		t.Errorf("only %d manifests found", len(o.byFile))
	}
}

func podSpec(x any) *corev1.PodSpec {
	switch v := x.(type) {
	case *appsv1.Deployment:
		return &v.Spec.Template.Spec
	case *batchv1.Job:
		return &v.Spec.Template.Spec
	}
	return nil
}

// argvOf is what the container runs: command replaces the image's ENTRYPOINT, args its CMD.
func argvOf(img containerImage, c corev1.Container) []string {
	if len(c.Command) > 0 {
		return append(slices.Clone(c.Command), c.Args...)
	}
	args := c.Args
	if len(args) == 0 {
		args = img.cmd
	}
	return append(slices.Clone(img.entrypoint), args...)
}

// envOfContainer is the container's environment over the image's.
func envOfContainer(img containerImage, c corev1.Container) map[string]string {
	env := map[string]string{}
	for k, v := range img.env {
		env[k] = v
	}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	return env
}

// mountFor returns the volume mounted at or above path in c ("" when none is).
func mountFor(c corev1.Container, path string) string {
	best, name := "", ""
	for _, m := range c.VolumeMounts {
		if underAny(path, []string{m.MountPath}) && len(m.MountPath) > len(best) {
			best, name = m.MountPath, m.Name
		}
	}
	return name
}

// viltArgv checks that c runs `vilt <cmd>` with flags the real command takes and returns
// the argv after "vilt".
func viltArgv(t *testing.T, where string, img containerImage, c corev1.Container, cmd string) []string {
	t.Helper()
	argv := argvOf(img, c)
	if len(argv) < 2 || (argv[0] != "vilt" && argv[0] != "/usr/local/bin/vilt") || argv[1] != cmd {
		t.Fatalf("%s: container %s runs %q, want vilt %s", where, c.Name, argv, cmd)
	}
	checkArgv(t, where+" container "+c.Name, argv[1:])
	return argv[1:]
}

// checkModelDownload: the init container downloads the model the main container loads,
// into the HF_HOME both see on the same volume, and the main container stays offline.
func checkModelDownload(t *testing.T, where string, img containerImage, ps *corev1.PodSpec, main corev1.Container, model string) {
	t.Helper()
	if len(ps.InitContainers) != 1 {
		t.Fatalf("%s: want one init container running vilt download, have %d", where, len(ps.InitContainers))
	}
	ic := ps.InitContainers[0]
	argv := viltArgv(t, where, img, ic, "download")
	_, pos := splitArgs(t, where, flagSpecs(t, "download"), argv[1:])
	if len(pos) != 1 || pos[0] != model {
		t.Errorf("%s: the init container downloads %q, the main container loads --model %s", where, pos, model)
	}
	hfInit, hfMain := envOfContainer(img, ic)["HF_HOME"], envOfContainer(img, main)["HF_HOME"]
	vi, vm := mountFor(ic, hfInit), mountFor(main, hfMain)
	if hfInit != hfMain || vi == "" || vi != vm {
		t.Errorf("%s: HF_HOME %q on volume %q (init) vs %q on %q (main): the model does not reach the main container", where, hfInit, vi, hfMain, vm)
	}
	if envOfContainer(img, main)["HF_HUB_OFFLINE"] != "1" {
		t.Errorf("%s: the main container should run with HF_HUB_OFFLINE=1 (the init container downloaded the model)", where)
	}
}

func checkSecurity(t *testing.T, where string, img containerImage, ps *corev1.PodSpec) {
	t.Helper()
	sc := ps.SecurityContext
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Errorf("%s: runAsNonRoot is not set", where)
	}
	if sc != nil && sc.RunAsUser != nil && strconv.FormatInt(*sc.RunAsUser, 10) != img.uid {
		t.Errorf("%s: runAsUser %d, the image's USER is %s", where, *sc.RunAsUser, img.uid)
	}
}

func portNamed(c corev1.Container, name string) (int32, bool) {
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort, true
		}
	}
	return 0, false
}

// serverPaths asks a real (model-less) vilt server for path: its status and body.
func serverPaths(t *testing.T, path string) (int, string) {
	t.Helper()
	s := serve.New(nil, serve.Options{})
	defer s.Close()
	srv := httptest.NewServer(s)
	defer srv.Close()
	resp, err := http.Get(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestServeDeployment checks the Deployment, Service, PodDisruptionBudget and autoscalers
// against the image and the real `vilt serve`.
func TestServeDeployment(t *testing.T) {
	o := loadManifests(t)
	img := readImage(t)
	const where = "kubernetes/deployment.yaml"
	d := get[appsv1.Deployment](t, o, where)
	ps := &d.Spec.Template.Spec
	pod := labels.Set(d.Spec.Template.Labels)
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil || !sel.Matches(pod) {
		t.Fatalf("the Deployment's selector %v does not match its pods %v (%v)", d.Spec.Selector, pod, err)
	}
	checkSecurity(t, where, img, ps)
	if len(ps.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(ps.Containers))
	}
	c := ps.Containers[0]
	argv := viltArgv(t, where, img, c, "serve")

	// The listen address is the named container port, which is the image's EXPOSE.
	host, port, err := net.SplitHostPort(flagValue(t, argv, "addr"))
	httpPort, ok := portNamed(c, "http")
	if err != nil || host != "0.0.0.0" || !ok || strconv.Itoa(int(httpPort)) != port || port != img.port {
		t.Errorf("serve --addr %s:%s, container port http %d, image EXPOSE %s: want 0.0.0.0 and one port", host, port, httpPort, img.port)
	}
	// Probes: readiness on /readyz, liveness on /healthz, on that port; the real server
	// answers /healthz before a model is loaded and /readyz only after.
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
		path  string
		code  int
	}{{"readiness", c.ReadinessProbe, "/readyz", http.StatusServiceUnavailable}, {"liveness", c.LivenessProbe, "/healthz", http.StatusOK}} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("no %s httpGet probe", p.name)
			continue
		}
		g := p.probe.HTTPGet
		if g.Path != p.path || (g.Port.String() != "http" && g.Port.String() != port) {
			t.Errorf("%s probe GET %s on port %s, want %s on http", p.name, g.Path, g.Port.String(), p.path)
		}
		if code, body := serverPaths(t, p.path); code != p.code {
			t.Errorf("a loading vilt server answers %s with %d (%s), want %d", p.path, code, body, p.code)
		}
	}
	// Termination: the preStop sleep, then SIGTERM, then --shutdown-timeout for
	// in-flight requests, all within the grace period.
	grace, err := time.ParseDuration(flagValue(t, argv, "shutdown-timeout"))
	if err != nil {
		t.Fatal(err)
	}
	var pre time.Duration
	if lc := c.Lifecycle; lc != nil && lc.PreStop != nil {
		switch h := lc.PreStop; {
		case h.Sleep != nil:
			pre = time.Duration(h.Sleep.Seconds) * time.Second
		case h.Exec != nil && len(h.Exec.Command) == 2 && h.Exec.Command[0] == "sleep":
			n, err := strconv.Atoi(h.Exec.Command[1])
			if err != nil {
				t.Fatalf("preStop %q", h.Exec.Command)
			}
			pre = time.Duration(n) * time.Second
		}
	}
	if pre <= 0 {
		t.Error("no preStop sleep: the pod would get SIGTERM while still in the Service's endpoints")
	}
	if tg := ps.TerminationGracePeriodSeconds; tg == nil || time.Duration(*tg)*time.Second < pre+grace {
		t.Errorf("terminationGracePeriodSeconds (%v) < preStop %v + --shutdown-timeout %v", ptrString(tg), pre, grace)
	}
	checkModelDownload(t, where, img, ps, c, flagValue(t, argv, "model"))
	if _, ok := c.Resources.Requests[corev1.ResourceCPU]; !ok {
		t.Error("no CPU request: the autoscaler's CPU utilization needs one")
	}
	if _, ok := c.Resources.Limits[corev1.ResourceMemory]; !ok {
		t.Error("no memory limit")
	}

	// The Service selects the pods and targets the http port.
	svc := get[corev1.Service](t, o, "kubernetes/service.yaml")
	if !labels.SelectorFromSet(svc.Spec.Selector).Matches(pod) || len(svc.Spec.Selector) == 0 {
		t.Errorf("Service selector %v does not select the pods %v", svc.Spec.Selector, pod)
	}
	for _, sp := range svc.Spec.Ports {
		if tp := sp.TargetPort.String(); tp != "http" && tp != port {
			t.Errorf("Service port %d targets %s, want http", sp.Port, tp)
		}
	}
	// The disruption budget selects the pods and leaves room to drain a node.
	pdb := get[policyv1.PodDisruptionBudget](t, o, "kubernetes/pdb.yaml")
	ps2, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
	if err != nil || !ps2.Matches(pod) {
		t.Errorf("PodDisruptionBudget selector %v does not select the pods", pdb.Spec.Selector)
	}
	// Both autoscalers scale this Deployment; their pods metrics are on the real /metrics.
	_, metrics := serverPaths(t, "/metrics")
	for _, file := range []string{"kubernetes/hpa.yaml", "kubernetes/hpa-queue-depth.yaml"} {
		h := get[autoscalingv2.HorizontalPodAutoscaler](t, o, file)
		ref := h.Spec.ScaleTargetRef
		if ref.Kind != "Deployment" || ref.Name != d.Name || ref.APIVersion != "apps/v1" {
			t.Errorf("%s scales %+v, want the Deployment %s", file, ref, d.Name)
		}
		if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas < 1 || h.Spec.MaxReplicas < *h.Spec.MinReplicas {
			t.Errorf("%s: replicas %v..%d", file, h.Spec.MinReplicas, h.Spec.MaxReplicas)
		}
		if file == "kubernetes/hpa.yaml" && pdb.Spec.MinAvailable != nil && pdb.Spec.MinAvailable.IntValue() >= int(*h.Spec.MinReplicas) {
			t.Errorf("PodDisruptionBudget minAvailable %s blocks every drain at %d replicas", pdb.Spec.MinAvailable.String(), *h.Spec.MinReplicas)
		}
		if len(h.Spec.Metrics) == 0 {
			t.Errorf("%s: no metrics", file)
		}
		for _, m := range h.Spec.Metrics {
			switch m.Type {
			case autoscalingv2.ResourceMetricSourceType:
				if m.Resource.Name != corev1.ResourceCPU {
					t.Errorf("%s: resource metric %s", file, m.Resource.Name)
				}
			case autoscalingv2.PodsMetricSourceType:
				name := m.Pods.Metric.Name
				if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `[ {]`).MatchString(metrics) {
					t.Errorf("%s scales on %s, which vilt serve's /metrics does not have", file, name)
				}
			default:
				t.Errorf("%s: metric type %s", file, m.Type)
			}
		}
	}
}

// TestBatchJobs checks the Indexed Job against the real `vilt rank` and its shard
// environment, and the merge Job against it.
func TestBatchJobs(t *testing.T) {
	o := loadManifests(t)
	img := readImage(t)
	const where = "kubernetes/batch/job-rank.yaml"
	j := get[batchv1.Job](t, o, where)
	if j.Spec.CompletionMode == nil || *j.Spec.CompletionMode != batchv1.IndexedCompletion {
		t.Fatal("the rank Job is not Indexed: its pods get no JOB_COMPLETION_INDEX")
	}
	if j.Spec.Completions == nil || *j.Spec.Completions < 1 || j.Spec.Parallelism == nil || *j.Spec.Parallelism > *j.Spec.Completions {
		t.Errorf("completions %v, parallelism %v", j.Spec.Completions, j.Spec.Parallelism)
	}
	ps := &j.Spec.Template.Spec
	if ps.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("restartPolicy %s, want Never (backoffLimitPerIndex retries an index in a new pod)", ps.RestartPolicy)
	}
	checkSecurity(t, where, img, ps)
	if len(ps.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(ps.Containers))
	}
	c := ps.Containers[0]
	argv := viltArgv(t, where, img, c, "rank")
	env := envOfContainer(img, c)
	if env["VILT_SHARDS"] != strconv.Itoa(int(*j.Spec.Completions)) {
		t.Errorf("VILT_SHARDS=%q, the Job has %d completions: shards would be lost or overlap", env["VILT_SHARDS"], *j.Spec.Completions)
	}
	if _, set := env["JOB_COMPLETION_INDEX"]; set {
		t.Error("JOB_COMPLETION_INDEX is set by Kubernetes, not the manifest")
	}
	if v := flagValue(t, argv, "shard"); v != "" {
		t.Errorf("--shard %s would override the Job's index", v)
	}
	output := flagValue(t, argv, "output")
	for _, f := range []string{"manifest", "output", "texts"} {
		v := flagValue(t, argv, f)
		if v == "" || !filepath.IsAbs(v) || mountFor(c, v) == "" {
			t.Errorf("--%s %q is not on a mounted volume", f, v)
		}
	}
	checkModelDownload(t, where, img, ps, c, flagValue(t, argv, "model"))

	// The merge Job joins exactly these shard files, from the same claim.
	const mwhere = "kubernetes/batch/merge/job-merge.yaml"
	m := get[batchv1.Job](t, o, mwhere)
	mc := m.Spec.Template.Spec.Containers[0]
	margv := viltArgv(t, mwhere, img, mc, "merge")
	if got := flagValue(t, margv, "output"); got != output {
		t.Errorf("merge --output %s, the shards write %s", got, output)
	}
	claim := func(ps *corev1.PodSpec, c corev1.Container, path string) string {
		name := mountFor(c, path)
		for _, v := range ps.Volumes {
			if v.Name == name && v.PersistentVolumeClaim != nil {
				return v.PersistentVolumeClaim.ClaimName
			}
		}
		return ""
	}
	if a, b := claim(ps, c, output), claim(&m.Spec.Template.Spec, mc, output); a == "" || a != b {
		t.Errorf("the shards write to claim %q, merge reads claim %q", a, b)
	}
	pvc := get[corev1.PersistentVolumeClaim](t, o, "kubernetes/batch/pvc.yaml")
	if pvc.Name != claim(ps, c, output) || !slices.Contains(pvc.Spec.AccessModes, corev1.ReadWriteMany) {
		t.Errorf("PVC %s (%v): the shards' claim must be it, ReadWriteMany", pvc.Name, pvc.Spec.AccessModes)
	}
}

func ptrString(p *int64) string {
	if p == nil {
		return "unset"
	}
	return strconv.FormatInt(*p, 10)
}
