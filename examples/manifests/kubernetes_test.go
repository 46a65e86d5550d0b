package manifests

import (
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/kubernetes/pkg/api/legacyscheme"
	"k8s.io/kubernetes/pkg/apis/apps"
	_ "k8s.io/kubernetes/pkg/apis/apps/install"
	appsvalidation "k8s.io/kubernetes/pkg/apis/apps/validation"
	"k8s.io/kubernetes/pkg/apis/core"
	_ "k8s.io/kubernetes/pkg/apis/core/install"
	corevalidation "k8s.io/kubernetes/pkg/apis/core/validation"
)

// apiServerValidate runs what the Kubernetes API server runs on create: defaulting, conversion
// to the internal type, and the type's validation (k8s.io/kubernetes/pkg/apis/.../validation).
func apiServerValidate(t *testing.T, obj any) field.ErrorList {
	t.Helper()
	switch o := obj.(type) {
	case *appsv1.Deployment:
		d := o.DeepCopy()
		legacyscheme.Scheme.Default(d)
		var in apps.Deployment
		if err := legacyscheme.Scheme.Convert(d, &in, nil); err != nil {
			t.Fatal(err)
		}
		return appsvalidation.ValidateDeployment(&in, corevalidation.PodValidationOptions{})
	case *corev1.Service:
		s := o.DeepCopy()
		legacyscheme.Scheme.Default(s)
		var in core.Service
		if err := legacyscheme.Scheme.Convert(s, &in, nil); err != nil {
			t.Fatal(err)
		}
		return corevalidation.ValidateServiceCreate(&in)
	case *corev1.PersistentVolumeClaim:
		p := o.DeepCopy()
		legacyscheme.Scheme.Default(p)
		var in core.PersistentVolumeClaim
		if err := legacyscheme.Scheme.Convert(p, &in, nil); err != nil {
			t.Fatal(err)
		}
		return corevalidation.ValidatePersistentVolumeClaim(&in, corevalidation.PersistentVolumeClaimSpecValidationOptions{})
	}
	t.Fatalf("no API server validation for %T", obj)
	return nil
}

// serveObjects are the objects of examples/kubernetes/serve.yaml.
func serveObjects(t *testing.T) (*appsv1.Deployment, *corev1.Service, *corev1.PersistentVolumeClaim) {
	t.Helper()
	objs := decodeFile(t, "kubernetes/serve.yaml")
	return only[*appsv1.Deployment](t, objs), only[*corev1.Service](t, objs), only[*corev1.PersistentVolumeClaim](t, objs)
}

// TestKubernetesAPIServerValidation validates serve.yaml as the API server would on create,
// and shows on mutated copies that this catches what strict decoding cannot: a misspelt
// resource name, a selector that does not select the pods, a probe on no port.
func TestKubernetesAPIServerValidation(t *testing.T) {
	dep, svc, pvc := serveObjects(t)
	for _, obj := range []any{dep, svc, pvc} {
		if errs := apiServerValidate(t, obj); len(errs) > 0 {
			t.Errorf("%T: %v", obj, errs.ToAggregate())
		}
	}
	for _, tc := range []struct {
		name   string
		mutate func(d *appsv1.Deployment)
		want   string
	}{
		{"misspelt resource name", func(d *appsv1.Deployment) {
			c := &d.Spec.Template.Spec.Containers[0]
			c.Resources.Limits["memroy"] = c.Resources.Limits[corev1.ResourceMemory]
		}, "memroy"},
		{"selector does not select the pods", func(d *appsv1.Deployment) {
			d.Spec.Template.Labels["app.kubernetes.io/name"] = "gatekeepr"
		}, "selector"},
		{"probe without a handler port", func(d *appsv1.Deployment) {
			d.Spec.Template.Spec.Containers[0].ReadinessProbe.HTTPGet.Port.StrVal = "no_such-port!"
		}, "readinessProbe"},
		{"mount of an undefined volume", func(d *appsv1.Deployment) {
			d.Spec.Template.Spec.Containers[0].VolumeMounts[0].Name = "runbook"
		}, "volumeMounts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := dep.DeepCopy()
			tc.mutate(d)
			errs := apiServerValidate(t, d)
			if len(errs) == 0 || !strings.Contains(errs.ToAggregate().Error(), tc.want) {
				t.Errorf("errors %v, want one about %q", errs.ToAggregate(), tc.want)
			}
		})
	}
}

// serviceAddress is the in-cluster host:port of the gatekeeper Service, as Argo Rollouts and
// Flagger must call it.
func serviceAddress(svc *corev1.Service) string {
	return svc.Name + "." + svc.Namespace + ".svc.cluster.local:" + strconv.Itoa(int(svc.Spec.Ports[0].Port))
}

// TestKubernetesServeWiring checks what no schema knows: the probes on the server's health
// endpoints, the token from the Secret the controllers' examples read, /metrics where the
// annotations say, the Service in front of that port, and the volumes where the flags point.
func TestKubernetesServeWiring(t *testing.T) {
	dep, svc, pvc := serveObjects(t)
	pod := dep.Spec.Template
	if len(pod.Spec.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Spec.Containers))
	}
	c := pod.Spec.Containers[0]
	if len(c.Args) == 0 || c.Args[0] != "serve" {
		t.Errorf("args %v, want gatekeeper serve", c.Args)
	}
	flags := map[string]string{}
	for _, a := range c.Args[1:] {
		k, v, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		flags[k] = v
	}
	if len(c.Ports) != 1 || c.Ports[0].Name != "http" || ":"+strconv.Itoa(int(c.Ports[0].ContainerPort)) != flags["addr"] {
		t.Errorf("ports %v, want one named http on --addr %s", c.Ports, flags["addr"])
	}
	port := strconv.Itoa(int(c.Ports[0].ContainerPort))
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{{"readiness", c.ReadinessProbe, "/readyz"}, {"liveness", c.LivenessProbe, "/healthz"}} {
		if p.probe == nil || p.probe.HTTPGet == nil || p.probe.HTTPGet.Path != p.path || p.probe.HTTPGet.Port.String() != "http" {
			t.Errorf("%s probe %+v, want GET %s on port http", p.name, p.probe, p.path)
		}
	}
	for _, ann := range []map[string]string{pod.Annotations, svc.Annotations} {
		if ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/port"] != port || ann["prometheus.io/path"] != "/metrics" {
			t.Errorf("annotations %v, want /metrics scraped on port %s", ann, port)
		}
	}
	var token *corev1.EnvVar
	for i := range c.Env {
		if c.Env[i].Name == "GATEKEEPER_TOKEN" {
			token = &c.Env[i]
		}
	}
	if token == nil || token.ValueFrom == nil || token.ValueFrom.SecretKeyRef == nil ||
		token.ValueFrom.SecretKeyRef.Name != "gatekeeper-token" || token.ValueFrom.SecretKeyRef.Key != "token" {
		t.Errorf("GATEKEEPER_TOKEN %+v, want it from Secret gatekeeper-token key token (the Secret analysistemplate.yaml reads)", token)
	}
	// Argo's AnalysisTemplates read the same Secret name and key in the Rollout's namespace.
	_, templates := argoObjects(t)
	for name, at := range templates {
		found := false
		for _, a := range at.Spec.Args {
			if a.ValueFrom != nil && a.ValueFrom.SecretKeyRef != nil {
				found = a.ValueFrom.SecretKeyRef.Name == "gatekeeper-token" && a.ValueFrom.SecretKeyRef.Key == "token"
			}
		}
		if !found {
			t.Errorf("AnalysisTemplate %s does not read the token from Secret gatekeeper-token key token", name)
		}
		if u := at.Spec.Metrics[0].Provider.Web.URL; !strings.HasPrefix(u, "http://"+serviceAddress(svc)+"/v1/decide?") {
			t.Errorf("AnalysisTemplate %s: url %s, want the Service %s", name, u, serviceAddress(svc))
		}
	}
	if sp := svc.Spec.Ports; len(sp) != 1 || sp[0].TargetPort.String() != "http" {
		t.Errorf("Service ports %v, want one to the container port http", sp)
	}
	for k, v := range svc.Spec.Selector {
		if pod.Labels[k] != v {
			t.Errorf("Service selector %s=%s does not select the pods (%v)", k, v, pod.Labels)
		}
	}
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m.MountPath
	}
	if !strings.HasPrefix(flags["runbook"], mounts["runbooks"]+"/") {
		t.Errorf("--runbook %s is not in the runbooks volume (%s)", flags["runbook"], mounts["runbooks"])
	}
	if flags["archive"] != mounts["archive"] {
		t.Errorf("--archive %s is not the archive volume (%s)", flags["archive"], mounts["archive"])
	}
	for _, v := range pod.Spec.Volumes {
		if v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName != pvc.Name {
			t.Errorf("volume %s claims %s, want %s", v.Name, v.PersistentVolumeClaim.ClaimName, pvc.Name)
		}
	}
	drain, err := time.ParseDuration(flags["drain-delay"])
	if err != nil || drain <= 0 {
		t.Errorf("--drain-delay %q: want a delay, so the Service stops routing before serve stops answering", flags["drain-delay"])
	}
	shutdown := 30 * time.Second // serve's --shutdown-timeout default
	if v, ok := flags["shutdown-timeout"]; ok {
		shutdown, _ = time.ParseDuration(v)
	}
	if grace := time.Duration(*pod.Spec.TerminationGracePeriodSeconds) * time.Second; grace <= drain+shutdown {
		t.Errorf("terminationGracePeriodSeconds %s does not cover --drain-delay %s + --shutdown-timeout %s", grace, drain, shutdown)
	}
	if *dep.Spec.Replicas != 1 || dep.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		t.Errorf("replicas %d, strategy %s: one server holds the archive volume at a time", *dep.Spec.Replicas, dep.Spec.Strategy.Type)
	}
}
