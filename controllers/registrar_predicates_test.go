package controllers

import (
	"testing"

	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/stretchr/testify/assert"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
)

// Each registrar predicate passes exactly the updates that can change what EMCO holds: every
// other update would cost a round of EMCO reads for nothing.
func TestRegistrarPredicates(t *testing.T) {
	cluster := func(edit func(c *automationv1alpha1.Cluster)) client.Object {
		c := &automationv1alpha1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "edge", Namespace: "starlab", Generation: 1,
			Labels: map[string]string{"automation.dcn.ssu.ac.kr/region": "kr-seoul"}}}
		if edit != nil {
			edit(c)
		}
		return c
	}
	fleet := func(edit func(f *automationv1alpha1.Fleet)) client.Object {
		f := &automationv1alpha1.Fleet{ObjectMeta: metav1.ObjectMeta{Name: "fleet", Namespace: "starlab", Generation: 1}}
		f.Spec.EMCO = &automationv1alpha1.EMCOSettings{Endpoints: []automationv1alpha1.EMCOEndpoint{{Name: "emco", URL: "http://emco"}}}
		if edit != nil {
			edit(f)
		}
		return f
	}
	now := metav1.Now()
	tests := []struct {
		name      string
		predicate predicate.Funcs
		old, cur  client.Object
		passes    bool
	}{
		{"registration: nothing changed", registrationInputsChanged(), cluster(nil), cluster(nil), false},
		{"registration: its own status record", registrationInputsChanged(), cluster(nil), cluster(func(c *automationv1alpha1.Cluster) {
			c.Status.EMCO = &automationv1alpha1.EMCORegistration{Registered: true}
		}), false},
		{"registration: a CAPI condition other than Available", registrationInputsChanged(), cluster(nil), cluster(func(c *automationv1alpha1.Cluster) {
			conditions.MarkFalse(c, "ControlPlaneInitialized", "Waiting", "waiting")
		}), false},
		{"registration: spec", registrationInputsChanged(), cluster(nil), cluster(func(c *automationv1alpha1.Cluster) { c.Generation = 2 }), true},
		{"registration: labels", registrationInputsChanged(), cluster(nil), cluster(func(c *automationv1alpha1.Cluster) { c.Labels["tier"] = "edge" }), true},
		{"registration: deletion", registrationInputsChanged(), cluster(nil), cluster(func(c *automationv1alpha1.Cluster) { c.DeletionTimestamp = &now }), true},
		{"registration: Available", registrationInputsChanged(), cluster(nil), cluster(func(c *automationv1alpha1.Cluster) {
			conditions.MarkTrue(c, AvailableCondition, "Available", "available")
		}), true},
		{"registration: another kubeconfig Secret", registrationInputsChanged(), cluster(nil), cluster(func(c *automationv1alpha1.Cluster) {
			c.Status.KubeconfigSecretName = "edge-admin-kubeconfig"
		}), true},
		{"registration: the default kubeconfig Secret's name recorded", registrationInputsChanged(), cluster(nil), cluster(func(c *automationv1alpha1.Cluster) {
			c.Status.KubeconfigSecretName = "edge-kubeconfig" // CAPI's name, which the registrar reads already
		}), false},

		{"member: nothing a cloud follows", memberRegistrationChanged(), cluster(nil), cluster(func(c *automationv1alpha1.Cluster) {
			c.Generation = 2
			conditions.MarkTrue(c, AvailableCondition, "Available", "available")
		}), false},
		{"member: its registration", memberRegistrationChanged(), cluster(nil), cluster(func(c *automationv1alpha1.Cluster) {
			c.Status.EMCO = &automationv1alpha1.EMCORegistration{Registered: true}
		}), true},
		{"member: deletion", memberRegistrationChanged(), cluster(nil), cluster(func(c *automationv1alpha1.Cluster) { c.DeletionTimestamp = &now }), true},
		{"member: membership", memberRegistrationChanged(), cluster(nil), cluster(func(c *automationv1alpha1.Cluster) {
			c.Labels[automationv1alpha1.LogicalClusterLabel] = "mec-cluster"
		}), true},

		{"Fleet: an edit EMCO does not see", emcoSettingsChanged(), fleet(nil), fleet(func(f *automationv1alpha1.Fleet) {
			f.Generation = 2
			f.Spec.Interval = metav1.Duration{Duration: 42}
		}), false},
		{"Fleet: its EMCO settings", emcoSettingsChanged(), fleet(nil), fleet(func(f *automationv1alpha1.Fleet) {
			f.Generation = 2
			f.Spec.EMCO.Endpoints[0].Project = "dcn"
		}), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.passes, tt.predicate.Update(event.UpdateEvent{ObjectOld: tt.old, ObjectNew: tt.cur}))
		})
	}
}
